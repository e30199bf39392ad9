export type StopCode = 'budget_exhausted' | 'deadline_exceeded' | 'stopped';

/**
 * Why a swarm ends before its plan is done. Thrown wherever the reason is found (a budget check, a
 * save that finds the swarm stopped elsewhere, a stop request) and caught by the run loop alone, which
 * ends the swarm as stopped rather than failed.
 */
export class StopSignal extends Error {
  readonly code: StopCode;
  constructor(code: StopCode, message: string) {
    super(message);
    this.code = code;
  }
}
