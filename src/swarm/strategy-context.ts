import type { PlanTaskTable } from './plan-task-table.js';
import { COORDINATION_TYPES } from './roster.js';
import type { SeatCalls } from './seat-calls.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { SwarmSeats } from './swarm-seats.js';
import type { SwarmRunContext } from './topologies/topology.js';

export interface StrategyContextDeps {
  record: SwarmRecordKeeper;
  table: PlanTaskTable;
  seats: SwarmSeats;
  seatCalls: SeatCalls;
  signal: AbortSignal;
  vote: SwarmRunContext['vote'];
}

/**
 * What a topology strategy sees of the run it serves, built from the run's parts so a strategy
 * depends on this one interface rather than on the run. Built anew for each strategy call: `swarm`
 * is the record as it is at that call.
 */
export function strategyContext(deps: StrategyContextDeps): SwarmRunContext {
  const { seats } = deps;
  return {
    swarm: deps.record.swarm,
    signal: deps.signal,
    workers: () => seats.workers(),
    staffFor: (plan, groups) => seats.staffFor(plan, groups),
    groupOf: (agentId) => seats.groupOf(agentId),
    asSeat: (seat, type, fn) => deps.seatCalls.asSeat(seat, type, fn),
    workerTypes: async () =>
      [...(await seats.catalog()).values()]
        .filter((t) => !COORDINATION_TYPES.has(t.name))
        .map((t) => ({ name: t.name, description: t.description.slice(0, 160) })),
    knownTypes: async () => new Set((await seats.catalog()).keys()),
    inflightByGroup: () => deps.table.inflightByGroup(),
    vote: (input) => deps.vote(input),
  };
}
