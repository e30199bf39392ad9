import { monotonicFactory } from 'ulid';

export type IdKind = 'task' | 'agent' | 'workflow' | 'runner' | 'swarm' | 'proposal' | 'call';

const PREFIX: Record<IdKind, string> = { task: 'tsk', agent: 'agt', workflow: 'wf', runner: 'run', swarm: 'swm', proposal: 'prp', call: 'cal' };

/** Creates sortable ids (`tsk_01J…`): time-ordered, so listing by id is listing by creation. */
export function createIdGenerator(): (kind: IdKind) => string {
  const next = monotonicFactory();
  return (kind) => `${PREFIX[kind]}_${next().toLowerCase()}`;
}
