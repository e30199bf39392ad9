// A swarm as its events tell it, up to any one event: the basis of replay, and of what the status
// report does not say (who is working right now, failovers, when each task ran on which agent).
// Events correlated with the swarm id: swarm.*, task.* of its tasks, consensus.*, vote.*, voter.*.

/** The event types replay steps through (agent turns, output and usage are left out: too many, no state). */
export const REPLAY_TYPES = ['swarm.*', 'task.*', 'consensus.*', 'vote.*', 'voter.*'];
const PAGE = 1000;

export const isReplayEvent = (e) => REPLAY_TYPES.some((t) => e.type.startsWith(t.slice(0, -1)));

/** The swarm's replayable events after `afterId`, oldest first, every page of them. */
export async function loadEvents(api, swarmId, afterId = 0) {
  const events = [];
  let after = afterId;
  for (;;) {
    const q = new URLSearchParams({ correlationId: swarmId, types: REPLAY_TYPES.join(','), limit: String(PAGE) });
    if (after) q.set('afterId', String(after));
    const page = await api.get(`/events?${q}`);
    events.push(...page.items);
    if (page.items.length < PAGE || page.nextAfterId === null) return events;
    after = page.nextAfterId;
  }
}

function closeRun(state, taskId, status, at) {
  for (let i = state.runs.length - 1; i >= 0; i -= 1) {
    const run = state.runs[i];
    if (run.taskId === taskId && run.end === null) {
      run.end = at;
      run.status = status;
      if (run.agentId) state.busy.delete(run.agentId);
      return;
    }
  }
}

/**
 * The state after the events up to and including id `atId` (null: all of them):
 *   status        the swarm's status then (null before it was created)
 *   planned       whether the plan existed
 *   hidden        plan task ids a later replan added (not in the plan yet)
 *   tasks         planTaskId → { status, taskId, agentId }
 *   busy          agentId → taskId it is running
 *   failovers     [{ previous, next, reason, at }]
 *   proposals     proposalId → { status, taskId }
 *   votes         Set of `${proposalId}|${round}|${voterId}` cast
 *   flagged       Set of voter ids caught misbehaving
 *   runs          [{ taskId, planTaskId, agentId, start, end, status }] one per task start
 *   at            the last event's time
 */
export function swarmStateAt(events, atId = null) {
  const state = {
    status: null,
    planned: false,
    hidden: new Set(),
    tasks: new Map(),
    busy: new Map(),
    failovers: [],
    proposals: new Map(),
    votes: new Set(),
    flagged: new Set(),
    runs: [],
    at: null,
  };
  const planOf = new Map();
  for (const e of events) {
    if (e.type === 'swarm.replanned' && atId !== null && e.id > atId) for (const id of e.data.added ?? []) state.hidden.add(id);
    if (e.type === 'swarm.task_dispatched') planOf.set(e.data.taskId, e.data.planTaskId);
  }
  for (const e of events) {
    if (atId !== null && e.id > atId) break;
    state.at = e.timestamp;
    const d = e.data ?? {};
    const planTaskId = d.taskId ? planOf.get(d.taskId) : undefined;
    const setTask = (patch) => {
      if (planTaskId === undefined) return;
      state.tasks.set(planTaskId, { status: 'queued', taskId: d.taskId, agentId: null, ...state.tasks.get(planTaskId), ...patch });
    };
    switch (e.type) {
      case 'swarm.created':
        state.status = 'planning';
        break;
      case 'swarm.planned':
        state.planned = true;
        break;
      case 'swarm.status_changed':
      case 'swarm.finished':
        state.status = d.status;
        break;
      case 'swarm.task_dispatched':
        state.tasks.set(d.planTaskId, { status: 'queued', taskId: d.taskId, agentId: null });
        break;
      case 'swarm.leader_changed':
        state.failovers.push({ previous: d.previous, next: d.next, reason: d.reason, at: e.timestamp });
        break;
      case 'task.started':
        setTask({ status: 'running', agentId: d.agentId ?? null });
        if (d.agentId) state.busy.set(d.agentId, d.taskId);
        state.runs.push({ taskId: d.taskId, planTaskId: planTaskId ?? null, agentId: d.agentId ?? null, start: e.timestamp, end: null, status: 'running', attempt: d.attempt });
        break;
      case 'task.completed':
        setTask({ status: 'completed' });
        closeRun(state, d.taskId, 'completed', e.timestamp);
        break;
      case 'task.failed':
        setTask({ status: d.willRetry ? 'queued' : 'failed' });
        closeRun(state, d.taskId, 'failed', e.timestamp);
        break;
      case 'task.cancelled':
        setTask({ status: 'cancelled' });
        closeRun(state, d.taskId, 'cancelled', e.timestamp);
        break;
      case 'consensus.proposed':
        state.proposals.set(d.proposalId, { status: 'open', taskId: d.taskId });
        break;
      case 'consensus.decided':
        state.proposals.set(d.proposalId, { ...state.proposals.get(d.proposalId), status: d.status });
        break;
      case 'vote.cast':
        state.votes.add(`${d.proposalId}|${d.round}|${d.voterId}`);
        break;
      case 'voter.flagged':
        state.flagged.add(d.voterId);
        break;
      default:
        break;
    }
  }
  return state;
}
