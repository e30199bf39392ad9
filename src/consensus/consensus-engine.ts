import type { KeyObject } from 'node:crypto';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import { resolveIdPrefix } from '../kernel/resolve-id.js';
import type { AgentTrackRecord } from '../domain/agent.js';
import type { Abstention, ByzantineVoter, ConsensusSettings, ProposalRecord, RoundTally, SignedVote, VoteRecord, VoterFlag } from '../domain/consensus.js';
import { CancelledError, ColonyError, NotFoundError, TimeoutError, ValidationError, toColonyError } from '../domain/errors.js';
import { providerFailureOf } from '../domain/provider-failure.js';
import { formatDuration } from '../tasks/duration.js';
import type { ConsensusStore, ProposalQuery } from '../ports/consensus-store.js';
import type { Ballot, PreviousRound, Voter } from './ballot.js';
import { screenVotes, type Submission } from './byzantine.js';
import { BALLOT_DISSENT_MAX_REASONS, BALLOT_DISSENT_REASON_MAX_CHARS, CONSENSUS_LIMITS } from './consensus-defaults.js';
import { decideOutcome, failedOutcome } from './consensus-outcome.js';
import { tally, voteWeight, type CountedVote } from './tally.js';
import { parsePublicKey, verifyVoteAsync, voteBody } from './vote-signing.js';

export type { Ballot, PreviousRound, Voter } from './ballot.js';

export const CONSENSUS_EVENT_SOURCE = 'consensus';
/** Parsed public keys kept between proposals. */
const KEY_CACHE_MAX = 20_000;

export interface ProposalInput {
  question: string;
  /** At least two distinct options; `approve` and `reject` for a yes/no question. */
  options: readonly string[];
  context?: string | null;
  settings: ConsensusSettings;
  swarmId?: string | null;
  taskId?: string | null;
}

/** Rewrites the question between rounds of a multi-round vote, from the round's tally and the dissenting reasons. */
export type RefineQuestion = (question: string, tally: RoundTally, reasons: string[]) => Promise<string>;

export interface ProposeOptions {
  signal?: AbortSignal;
  refine?: RefineQuestion;
  /** Count the votes of voters flagged before (default: they are left out). */
  includeFlagged?: boolean;
}

export interface ConsensusEngineDeps {
  store: ConsensusStore;
  /** Completed and failed tasks per voter, for weighted voting (voters without one weigh 0.5). */
  trackRecords(voterIds: readonly string[]): Promise<Map<string, AgentTrackRecord>>;
  events: EventBus;
  logger: Logger;
  newId: (kind: 'proposal') => string;
  now: () => number;
}

/** A proposal that has been persisted and announced, and the promise of its outcome. */
export interface RunningProposal {
  proposal: ProposalRecord;
  /** The decided proposal; rejects (after recording the proposal as failed) on an error or cancellation. */
  done: Promise<ProposalRecord>;
}

/** State of one proposal across its rounds. */
interface ProposalRun {
  proposal: ProposalRecord;
  voters: readonly Voter[];
  voterIds: ReadonlySet<string>;
  flagged: Set<string>;
  records: Map<string, AgentTrackRecord>;
  options: ProposeOptions;
  correlationId: string;
}

interface RoundResult {
  /** The round's votes being written; awaited with the outcome, so that both share a commit. */
  saved: Promise<unknown>;
  tally: RoundTally;
  counted: { voterId: string; decision: string; reason: string }[];
  byzantine: ByzantineVoter[];
}

/**
 * Runs proposals to a decision. Each round asks every voter at once and gives them the settings'
 * timeout (a voter that has not answered by then did not take part, and the round is marked timed
 * out). Votes are screened as they arrive (signatures, identities, equivocation, earlier flags; see
 * byzantine.ts), announced as `vote.cast` at once for live displays, and persisted together, counted
 * and excluded alike, when the round ends. Voters caught misbehaving are flagged (store and
 * `voter.flagged`). A multi-round vote that is not decided refines the question and asks again.
 */
export class ConsensusEngine {
  readonly #deps: ConsensusEngineDeps;
  /**
   * Registered public keys as last read, parsed (parsing costs more than verifying a signature).
   * Re-read every round and re-parsed only when a key changed; bounded, oldest dropped first.
   */
  readonly #keys = new Map<string, { text: string; key: KeyObject | null }>();

  constructor(deps: ConsensusEngineDeps) {
    this.#deps = deps;
  }

  /** Runs a proposal to its outcome. */
  async propose(input: ProposalInput, voters: readonly Voter[], options: ProposeOptions = {}): Promise<ProposalRecord> {
    return (await this.begin(input, voters, options)).done;
  }

  /** Persists the proposal (status open) and announces it, then runs it: `done` settles with the outcome. */
  async begin(input: ProposalInput, voters: readonly Voter[], options: ProposeOptions = {}): Promise<RunningProposal> {
    assertProposal(input, voters);
    if (options.signal?.aborted) throw new CancelledError('consensus cancelled before it started');
    const now = this.#deps.now();
    const proposal: ProposalRecord = {
      id: this.#deps.newId('proposal'),
      question: input.question,
      options: [...input.options],
      context: input.context ?? null,
      settings: { ...input.settings },
      status: 'open',
      swarmId: input.swarmId ?? null,
      taskId: input.taskId ?? null,
      voterIds: voters.map((v) => v.id),
      outcome: null,
      createdAt: now,
      updatedAt: now,
      decidedAt: null,
    };
    await this.#deps.store.insertProposal(proposal);
    const correlationId = proposal.swarmId ?? proposal.taskId ?? proposal.id;
    this.#deps.events.publish(
      'consensus.proposed',
      {
        proposalId: proposal.id,
        question: proposal.question,
        options: proposal.options,
        strategy: proposal.settings.strategy,
        voters: voters.length,
        swarmId: proposal.swarmId,
        taskId: proposal.taskId,
      },
      { source: CONSENSUS_EVENT_SOURCE, correlationId },
    );
    const run: ProposalRun = {
      proposal,
      voters,
      voterIds: new Set(proposal.voterIds),
      flagged: new Set(),
      records: new Map(),
      options,
      correlationId,
    };
    return { proposal, done: this.#run(run) };
  }

  async get(idOrPrefix: string): Promise<ProposalRecord> {
    const id = await this.resolveId(idOrPrefix);
    const proposal = await this.#deps.store.getProposal(id);
    if (!proposal) throw new NotFoundError('proposal', idOrPrefix);
    return proposal;
  }

  resolveId(idOrPrefix: string): Promise<string> {
    return resolveIdPrefix('proposal', idOrPrefix, (prefix, limit) => this.#deps.store.findProposalIdsByPrefix(prefix, limit));
  }

  list(query: ProposalQuery = {}): Promise<ProposalRecord[]> {
    return this.#deps.store.listProposals(query);
  }

  count(query: Omit<ProposalQuery, 'limit' | 'offset'> = {}): Promise<number> {
    return this.#deps.store.countProposals(query);
  }

  /** The proposal's votes, counted and excluded, in the order cast. */
  async votes(idOrPrefix: string, round?: number): Promise<VoteRecord[]> {
    const id = await this.resolveId(idOrPrefix);
    return this.#deps.store.listVotes({ proposalId: id, ...(round === undefined ? {} : { round }) });
  }

  async #run(run: ProposalRun): Promise<ProposalRecord> {
    const { proposal } = run;
    const rounds: RoundTally[] = [];
    const byzantine: ByzantineVoter[] = [];
    let question = proposal.question;
    const writes: Promise<unknown>[] = [];
    try {
      const ids = [...run.voterIds];
      for (const flag of await this.#deps.store.listVoterFlags(ids)) run.flagged.add(flag.voterId);
      if (proposal.settings.strategy === 'weighted') run.records = await this.#deps.trackRecords(ids);
      let previous: PreviousRound | null = null;
      for (let round = 1; round <= proposal.settings.maxRounds; round++) {
        const result = await this.#round(run, { proposalId: proposal.id, round, question, options: proposal.options, context: proposal.context, previous });
        writes.push(result.saved);
        rounds.push(result.tally);
        byzantine.push(...result.byzantine);
        if (result.tally.achieved || round === proposal.settings.maxRounds) break;
        const dissent = dissentOf(result, proposal.voterIds);
        if (run.options.refine) {
          const refined = await run.options.refine(question, result.tally, dissent.map((d) => d.reason));
          if (typeof refined !== 'string' || refined.trim() === '' || refined.length > CONSENSUS_LIMITS.questionMaxChars) {
            throw new ValidationError(`refining the question after round ${round} gave no question of 1-${CONSENSUS_LIMITS.questionMaxChars} characters`);
          }
          question = refined.trim();
        }
        const t = result.tally;
        previous = { round, question: t.question, support: t.support, leading: t.leading, ratio: t.ratio, participation: t.participation, dissent };
      }
      const { status, outcome } = decideOutcome({ settings: proposal.settings, options: proposal.options, rounds, byzantine });
      return await this.#finish(run, { ...proposal, question, status, outcome }, writes);
    } catch (error) {
      const e = toColonyError(error);
      const reason = e.code === 'cancelled' ? `cancelled: ${e.message}` : `error: ${e.message}`;
      try {
        await this.#finish(run, { ...proposal, question, status: 'failed', outcome: failedOutcome(rounds, byzantine, reason) });
      } catch (finishError) {
        this.#deps.logger.error({ err: finishError, proposalId: proposal.id }, 'a failed proposal could not be recorded as failed');
      }
      throw error;
    }
  }

  async #finish(run: ProposalRun, next: ProposalRecord, writes: readonly Promise<unknown>[] = []): Promise<ProposalRecord> {
    const now = this.#deps.now();
    const final: ProposalRecord = { ...next, updatedAt: now, decidedAt: now };
    await Promise.all([...writes, this.#deps.store.updateProposal(final)]);
    this.#deps.events.publish(
      'consensus.decided',
      {
        proposalId: final.id,
        status: final.status,
        decision: final.outcome?.decision ?? null,
        ratio: final.outcome?.ratio ?? 0,
        rounds: final.outcome?.rounds.length ?? 0,
        reason: final.outcome?.reason ?? null,
      },
      { source: CONSENSUS_EVENT_SOURCE, correlationId: run.correlationId },
    );
    return final;
  }

  async #round(run: ProposalRun, ballot: Ballot): Promise<RoundResult> {
    const { proposal } = run;
    const settings = proposal.settings;
    await this.#loadKeys([...run.voterIds]);
    const records: Omit<VoteRecord, 'id'>[] = [];
    const counted: (CountedVote & { voterId: string; reason: string })[] = [];
    const caught = new Map<string, ByzantineVoter>();

    const onAnswer = async (by: string, answer: unknown): Promise<void> => {
      const submissions = submissionsOf(by, answer, ballot);
      if (submissions.length === 0) return; // abstained
      if (!Array.isArray(answer)) this.#deps.logger.warn({ proposalId: proposal.id, voterId: by }, 'a voter answered with something other than a list of votes');
      const valid = await this.#verify(by, submissions);
      const key = this.#keys.get(by);
      const screened = screenVotes({
        proposalId: proposal.id,
        round: ballot.round,
        options: proposal.options,
        voterIds: run.voterIds,
        keys: key?.key ? new Map([[by, key.text]]) : new Map<string, string>(),
        flagged: run.flagged,
        excludeFlagged: !run.options.includeFlagged,
        reasonMaxChars: CONSENSUS_LIMITS.reasonMaxChars,
        submissions,
        verify: (vote) => valid.get(vote) ?? false,
      });
      const at = this.#deps.now();
      for (const { submission, counted: isCounted, exclusion } of screened.votes) {
        const vote = stored(submission.vote);
        const weight = isCounted ? voteWeight(settings.strategy, run.records.get(by), vote.confidence) : 0;
        records.push({ ...vote, proposalId: proposal.id, round: ballot.round, voterId: by, weight, status: isCounted ? 'counted' : 'excluded', exclusion, createdAt: at });
        if (isCounted) counted.push({ voterId: by, decision: vote.decision, reason: vote.reason, weight });
        this.#deps.events.publish(
          'vote.cast',
          { proposalId: proposal.id, round: ballot.round, voterId: by, decision: vote.decision, confidence: vote.confidence, counted: isCounted },
          { source: CONSENSUS_EVENT_SOURCE, correlationId: run.correlationId },
        );
      }
      for (const b of screened.byzantine) if (!caught.has(b.voterId)) caught.set(b.voterId, b);
    };

    const { timedOut, abstentions } = await this.#collect(run, ballot, onAnswer);

    const saved = records.length > 0 ? this.#deps.store.insertVotes(records) : Promise.resolve();
    // Not a rejection nobody handles if the outcome fails first: #finish awaits it.
    saved.catch(() => undefined);
    const flags: VoterFlag[] = [...caught.values()]
      .filter((b) => b.reason !== 'flagged')
      .map((b) => ({ voterId: b.voterId, proposalId: proposal.id, round: b.round, reason: b.reason, flaggedAt: this.#deps.now() }));
    if (flags.length > 0) {
      await this.#deps.store.flagVoters(flags);
      for (const flag of flags) {
        run.flagged.add(flag.voterId);
        this.#deps.events.publish(
          'voter.flagged',
          { proposalId: proposal.id, round: flag.round, voterId: flag.voterId, reason: flag.reason },
          { source: CONSENSUS_EVENT_SOURCE, correlationId: run.correlationId },
        );
      }
    }

    const counts = tally({ round: ballot.round, question: ballot.question, votes: counted, options: proposal.options, eligible: run.voters.length, settings, timedOut });
    const result: RoundTally = abstentions.length === 0 ? counts : { ...counts, abstentions: orderedLike(abstentions, proposal.voterIds) };
    this.#deps.events.publish(
      'consensus.round_finished',
      {
        proposalId: proposal.id,
        round: ballot.round,
        achieved: result.achieved,
        leading: result.leading,
        ratio: result.ratio,
        participation: result.participation,
        timedOut,
      },
      { source: CONSENSUS_EVENT_SOURCE, correlationId: run.correlationId },
    );
    return { saved, tally: result, counted, byzantine: [...caught.values()] };
  }

  /**
   * Asks every voter at once and hands each answer that comes in time to `onAnswer`. Resolves when
   * all have answered (or failed), or when the round's time is up; answers after that are ignored.
   */
  async #collect(run: ProposalRun, ballot: Ballot, onAnswer: (by: string, answer: unknown) => Promise<void>): Promise<{ timedOut: boolean; abstentions: Abstention[] }> {
    const outer = run.options.signal;
    if (outer?.aborted) throw new CancelledError('consensus cancelled', { cause: outer.reason });
    const timeoutMs = run.proposal.settings.timeoutMs;
    const controller = new AbortController();
    const stop = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
    const onOuterAbort = () => controller.abort(new CancelledError('consensus cancelled', { cause: outer?.reason }));
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new TimeoutError(`round ${ballot.round} of proposal ${run.proposal.id}: time is up after ${timeoutMs} ms`));
    }, timeoutMs);

    let open = true;
    const pending = new Set(run.voters.map((v) => v.id));
    const handled: Promise<void>[] = [];
    let failure: { error: unknown } | null = null;
    const abstentions: Abstention[] = [];
    const asked = run.voters.map(async (voter) => {
      let answer: unknown;
      try {
        answer = await voter.vote(ballot, controller.signal);
      } catch (error) {
        if (open) {
          pending.delete(voter.id);
          abstentions.push(this.#abstained(run, ballot, voter.id, error));
        }
        return;
      }
      if (!open) return;
      pending.delete(voter.id);
      if (Array.isArray(answer) && answer.length === 0) abstentions.push(this.#abstained(run, ballot, voter.id, null));
      // Handled at once: a failure surfaces after the round, never as an unhandled rejection.
      handled.push(
        onAnswer(voter.id, answer).catch((error: unknown) => {
          failure ??= { error };
        }),
      );
    });
    try {
      await Promise.race([Promise.all(asked), stop]);
    } finally {
      open = false;
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
    // Answers that came in time are screened to the end, even when the round was cut short.
    await Promise.all(handled);
    if (failure !== null) throw (failure as { error: unknown }).error;
    if (outer?.aborted) throw new CancelledError('consensus cancelled', { cause: outer.reason });
    // Cut short by an abort of the round signal: the voters still pending never answered.
    if (!controller.signal.aborted) controller.abort(new CancelledError('the round is over'));
    const late = `did not answer within ${formatDuration(timeoutMs)}`;
    for (const voterId of pending) abstentions.push(this.#abstained(run, ballot, voterId, late));
    return { timedOut: timedOut && pending.size > 0, abstentions };
  }

  /** Records why a voter cast no vote (logged, announced as vote.abstained): an error, a reason, or none given. */
  #abstained(run: ProposalRun, ballot: Ballot, voterId: string, why: unknown): Abstention {
    const provider = providerFailureOf(why);
    const reason = typeof why === 'string' ? why : why instanceof Error ? why.message : 'abstained';
    const where = { proposalId: run.proposal.id, round: ballot.round, voterId };
    // An expected failure (a provider down, a model that never voted validly) is told, not traced.
    if (why instanceof Error && !(why instanceof ColonyError)) this.#deps.logger.warn({ err: why, ...where }, 'a voter failed to vote; it abstains this round');
    else this.#deps.logger.warn(where, `voter ${voterId} cast no vote: ${reason}`);
    this.#deps.events.publish(
      'vote.abstained',
      { ...where, reason, provider: provider?.provider ?? null },
      { source: CONSENSUS_EVENT_SOURCE, correlationId: run.correlationId },
    );
    return { voterId, reason, ...(provider ? { provider } : {}) };
  }

  /** Verifies a submission's signatures (on the thread pool), re-reading the voter's key once if it fails. */
  async #verify(by: string, submissions: readonly Submission[]): Promise<Map<SignedVote, boolean>> {
    if (!this.#keys.get(by)?.key) await this.#loadKeys([by]);
    const own = submissions.filter((s) => s.vote.voterId === by);
    const check = async (): Promise<Map<SignedVote, boolean>> => {
      const key = this.#keys.get(by)?.key;
      const results = await Promise.all(own.map(async (s) => [s.vote, key ? await verifyVoteAsync(voteBody(s.vote), s.vote.signature, key) : false] as const));
      return new Map(results);
    };
    let valid = await check();
    if ([...valid.values()].some((ok) => !ok)) {
      // The key may have been replaced meanwhile (a restarted process registers a fresh one).
      const before = this.#keys.get(by)?.text;
      await this.#loadKeys([by]);
      if (this.#keys.get(by)?.text !== before) valid = await check();
    }
    return valid;
  }

  async #loadKeys(voterIds: readonly string[]): Promise<void> {
    if (voterIds.length === 0) return;
    const found = await this.#deps.store.getVoterKeys(voterIds);
    for (const [voterId, text] of found) {
      if (this.#keys.get(voterId)?.text === text) continue;
      this.#keys.delete(voterId);
      this.#keys.set(voterId, { text, key: parsePublicKey(text) });
      if (this.#keys.size > KEY_CACHE_MAX) this.#keys.delete(this.#keys.keys().next().value as string);
    }
  }
}

/** Checks what the service's schema checks, for callers of the engine itself. */
function assertProposal(input: ProposalInput, voters: readonly Voter[]): void {
  if (typeof input.question !== 'string' || input.question.trim() === '') throw new ValidationError('question: must not be empty');
  if (new Set(input.options).size !== input.options.length || input.options.length < CONSENSUS_LIMITS.minOptions) {
    throw new ValidationError(`options: at least ${CONSENSUS_LIMITS.minOptions} distinct options`);
  }
  if (voters.length === 0) throw new ValidationError('voters: at least one voter');
  const ids = new Set<string>();
  for (const voter of voters) {
    if (typeof voter.id !== 'string' || voter.id === '') throw new ValidationError('voters: every voter needs an id');
    if (ids.has(voter.id)) throw new ValidationError(`voters: ${voter.id} is listed twice`);
    ids.add(voter.id);
  }
  const s = input.settings;
  if (!(s.threshold > 0 && s.threshold <= 1)) throw new ValidationError('threshold: must be greater than 0 and at most 1');
  if (!(s.quorum > 0 && s.quorum <= 1)) throw new ValidationError('quorum: must be greater than 0 and at most 1');
  if (!(Number.isInteger(s.timeoutMs) && s.timeoutMs > 0)) throw new ValidationError('timeout: must be a positive number of milliseconds');
  if (!(Number.isInteger(s.maxRounds) && s.maxRounds >= 1 && s.maxRounds <= CONSENSUS_LIMITS.maxRounds)) {
    throw new ValidationError(`maxRounds: a whole number from 1 to ${CONSENSUS_LIMITS.maxRounds}`);
  }
}

/** A voter's answer as submissions; anything that is not a vote object becomes one that fails verification. */
function submissionsOf(by: string, answer: unknown, ballot: Ballot): Submission[] {
  const items = Array.isArray(answer) ? answer : answer === undefined || answer === null ? [] : [answer];
  return items.map((item) => {
    const v = (typeof item === 'object' && item !== null ? item : {}) as Partial<Record<keyof SignedVote, unknown>>;
    return {
      by,
      vote: {
        proposalId: typeof v.proposalId === 'string' ? v.proposalId : ballot.proposalId,
        round: typeof v.round === 'number' ? v.round : ballot.round,
        voterId: typeof v.voterId === 'string' ? v.voterId : by,
        decision: typeof v.decision === 'string' ? v.decision : String(v.decision),
        confidence: typeof v.confidence === 'number' ? v.confidence : Number.NaN,
        reason: typeof v.reason === 'string' ? v.reason : String(v.reason),
        signature: typeof v.signature === 'string' ? v.signature : '',
      },
    };
  });
}

/** A vote's fields as they can be stored, whatever a misbehaving voter sent (only excluded votes can be out of range). */
function stored(vote: SignedVote): Pick<VoteRecord, 'decision' | 'confidence' | 'reason' | 'signature'> {
  return {
    decision: vote.decision.slice(0, CONSENSUS_LIMITS.optionMaxChars),
    confidence: Number.isFinite(vote.confidence) ? Math.min(1, Math.max(0, vote.confidence)) : 0,
    reason: vote.reason.slice(0, CONSENSUS_LIMITS.reasonMaxChars),
    signature: vote.signature.slice(0, 200),
  };
}

/** Reasons of the voters who did not vote for the leading option (everyone's, when none led), in the voters' order. */
function dissentOf(result: RoundResult, voterIds: readonly string[]): { decision: string; reason: string }[] {
  const leading = result.tally.leading;
  const order = new Map(voterIds.map((id, i) => [id, i]));
  return result.counted
    .filter((v) => leading === null || v.decision !== leading)
    .sort((a, b) => (order.get(a.voterId) ?? 0) - (order.get(b.voterId) ?? 0))
    .slice(0, BALLOT_DISSENT_MAX_REASONS)
    .map((v) => ({
      decision: v.decision,
      reason: v.reason.length > BALLOT_DISSENT_REASON_MAX_CHARS ? `${v.reason.slice(0, BALLOT_DISSENT_REASON_MAX_CHARS)}…` : v.reason,
    }));
}

/** Abstentions in the order the voters were listed. */
function orderedLike(abstentions: readonly Abstention[], voterIds: readonly string[]): Abstention[] {
  const order = new Map(voterIds.map((id, i) => [id, i]));
  return [...abstentions].sort((a, b) => (order.get(a.voterId) ?? 0) - (order.get(b.voterId) ?? 0));
}
