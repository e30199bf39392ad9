import { consensusAskSchema, parseConsensusInput, type ConsensusAskInput } from '../../consensus/consensus-input.js';
import type { Colony } from '../../app/colony.js';
import { PROPOSAL_STATUSES, type Abstention, type ProposalRecord, type ProposalStatus, type VoteRecord } from '../../domain/consensus.js';
import { CancelledError, ValidationError } from '../../domain/errors.js';
import { formatDuration } from '../../tasks/duration.js';
import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { providerFailureLine } from '../provider-failure-line.js';
import { color, isoTime, printJson, printTable, println, truncate } from '../output.js';

export interface ConsensusAskOptions extends GlobalOptions {
  options?: string[];
  context?: string;
  voters?: number;
  type?: string;
  agents?: string[];
  strategy?: string;
  threshold?: string;
  quorum?: string;
  timeout?: string;
  rounds?: number;
  provider?: string;
  model?: string;
}

/** The log file of `colony consensus`, under the data directory's logs/ (stderr shows the votes). */
const CONSENSUS_LOG = 'consensus.log';

/** The exit code of a decided proposal: 0 accepted, 8 rejected (yes/no), 7 no decision. */
export function exitCodeForProposal(status: ProposalStatus): number {
  if (status === 'accepted') return EXIT.ok;
  if (status === 'rejected') return EXIT.rejected;
  if (status === 'failed') return EXIT.failed;
  return EXIT.noConsensus;
}

/**
 * `colony consensus "<question>"`: puts the question to agents (named ones, or agents of a type
 * spawned for it) and shows the votes as they arrive (stderr) and the outcome (stdout).
 */
export async function consensusAskCommand(words: string[], options: ConsensusAskOptions): Promise<number> {
  const input: ConsensusAskInput = {
    question: words.join(' ').trim(),
    ...(options.options === undefined ? {} : { options: options.options }),
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.agents === undefined ? {} : { agentIds: options.agents }),
    ...(options.type === undefined ? {} : { agentType: options.type }),
    ...(options.voters === undefined ? {} : { voters: options.voters }),
    ...(options.strategy === undefined ? {} : { strategy: options.strategy as never }),
    ...(options.threshold === undefined ? {} : { threshold: share('--threshold', options.threshold) }),
    ...(options.quorum === undefined ? {} : { quorum: share('--quorum', options.quorum) }),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.rounds === undefined ? {} : { maxRounds: options.rounds }),
    ...(options.provider === undefined ? {} : { provider: options.provider as never }),
    ...(options.model === undefined ? {} : { model: options.model }),
  };
  // Bad input is refused before the project's database is even opened.
  parseConsensusInput(consensusAskSchema, input);

  return withColony(options, 'run', async (colony) => {
    const err = process.stderr;
    if (!options.json) {
      colony.events.subscribe({ types: ['consensus.proposed', 'vote.cast', 'vote.abstained', 'voter.flagged', 'consensus.round_finished'] }, (e) => {
        if (e.type === 'consensus.proposed') {
          const d = e.data;
          err.write(color.dim(`proposal ${d.proposalId}: ${d.voters} voter${d.voters === 1 ? '' : 's'}, ${d.strategy}, options ${d.options.join(' / ')}\n`));
        } else if (e.type === 'vote.cast') {
          const d = e.data;
          const mark = d.counted ? color.green('●') : color.red('✗');
          err.write(`${mark} ${d.voterId} ${color.bold(d.decision)} ${color.dim(`(confidence ${d.confidence.toFixed(2)})`)}${d.counted ? '' : color.red(' excluded')}\n`);
        } else if (e.type === 'vote.abstained') {
          const d = e.data;
          err.write(`${color.yellow('○')} ${d.voterId} ${color.yellow('cast no vote')}: ${d.reason}\n`);
        } else if (e.type === 'voter.flagged') {
          const d = e.data;
          err.write(color.yellow(`⚑ ${d.voterId} flagged: ${d.reason.replace('_', ' ')}\n`));
        } else {
          const d = e.data;
          const lead = d.leading === null ? 'no option leads' : `${d.leading} ${Math.round(d.ratio * 100)}%`;
          err.write(color.dim(`round ${d.round}: ${lead}, ${Math.round(d.participation * 100)}% voted${d.timedOut ? ', timed out' : ''}${d.achieved ? ', decided' : ''}\n`));
        }
      });
    }
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => controller.abort(new CancelledError(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let proposal: ProposalRecord;
    try {
      proposal = await colony.consensus.ask(input, { signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) {
        err.write(color.yellow('interrupted: the proposal is recorded as failed\n'));
        return EXIT.interrupted;
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await colony.events.flush();
    const votes = await colony.consensus.votes(proposal.id);
    if (options.json) printJson({ proposal, votes });
    else printOutcome(colony, proposal, votes);
    return exitCodeForProposal(proposal.status);
  }, {}, { logFile: CONSENSUS_LOG });
}

export async function consensusListCommand(options: GlobalOptions & { status?: string[]; limit: number; offset: number }): Promise<void> {
  const bad = (options.status ?? []).find((s) => !PROPOSAL_STATUSES.includes(s as ProposalStatus));
  if (bad) throw new ValidationError(`option --status: expected one of ${PROPOSAL_STATUSES.join(', ')}, got "${bad}"`);
  await withColony(options, 'cli', async (colony) => {
    const proposals = await colony.consensus.list({
      ...(options.status?.length ? { status: options.status as ProposalStatus[] } : {}),
      limit: options.limit,
      offset: options.offset,
    });
    if (options.json) return printJson(proposals);
    printTable(
      ['ID', 'STATUS', 'DECISION', 'SHARE', 'VOTERS', 'STRATEGY', 'CREATED', 'QUESTION'],
      proposals.map((p) => [
        p.id,
        statusText(p.status),
        p.outcome?.decision ?? '-',
        p.outcome ? `${Math.round(p.outcome.ratio * 100)}%` : '-',
        String(p.voterIds.length),
        p.settings.strategy,
        isoTime(p.createdAt),
        truncate(p.question, 48),
      ]),
    );
  }, {}, { mustExist: true });
}

export async function consensusShowCommand(id: string, options: GlobalOptions): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const proposal = await colony.consensus.get(id);
    const votes = await colony.consensus.votes(proposal.id);
    if (options.json) return printJson({ proposal, votes });
    printProposal(proposal);
    printVotes(votes);
  }, {}, { mustExist: true });
}

function printOutcome(colony: Colony, p: ProposalRecord, votes: VoteRecord[]): void {
  const o = p.outcome;
  const rounds = o?.rounds.length ?? 0;
  const share = o ? `${Math.round(o.ratio * 100)}%` : '-';
  if (p.status === 'accepted' || p.status === 'rejected') {
    println(`${p.status === 'accepted' ? color.green('✓') : color.red('✗')} ${color.bold(o?.decision ?? '')} (${share} of the votes, ${rounds} round${rounds === 1 ? '' : 's'}) ${color.dim(p.id)}`);
  } else {
    println(`${color.yellow('○')} ${statusText(p.status)}: ${o?.reason ?? ''} ${color.dim(p.id)}`);
  }
  const shown = votes.filter((v) => v.round === rounds || rounds === 0);
  if (shown.length > 0) printVotes(shown);
  printAbstentions(colony, o?.rounds.at(-1)?.abstentions ?? []);
}

/** Why votes are missing: each voter that cast none, and the provider behind it named once per cause. */
function printAbstentions(colony: Colony, abstentions: readonly Abstention[]): void {
  if (abstentions.length === 0) return;
  const providers = new Map<string, string>();
  for (const a of abstentions) {
    println(color.yellow(`  ${a.voterId} cast no vote: ${a.reason}`));
    if (a.provider) providers.set(a.provider.message, providerFailureLine(colony, a.provider));
  }
  for (const line of providers.values()) println(color.red(line));
}

function printProposal(p: ProposalRecord): void {
  const s = p.settings;
  println(`${color.bold(p.id)} ${statusText(p.status)}`);
  println(`  question      ${truncate(p.question, 200)}`);
  println(`  options       ${p.options.join(', ')}`);
  println(`  strategy      ${s.strategy}, threshold ${Math.round(s.threshold * 100)}%, quorum ${Math.round(s.quorum * 100)}%, ${formatDuration(s.timeoutMs)} per round, ${s.maxRounds} round${s.maxRounds === 1 ? '' : 's'} at most`);
  println(`  voters        ${p.voterIds.join(', ')}`);
  if (p.taskId) println(`  task          ${p.taskId}`);
  if (p.swarmId) println(`  swarm         ${p.swarmId}`);
  println(`  created       ${isoTime(p.createdAt)}`);
  if (p.decidedAt) println(`  decided       ${isoTime(p.decidedAt)}`);
  const o = p.outcome;
  if (!o) return;
  println(`  decision      ${o.decision ?? '-'}${o.reason ? `  (${o.reason})` : ''}`);
  for (const r of o.rounds) {
    const support = Object.entries(r.support).map(([option, n]) => `${option} ${Number.isInteger(n) ? n : n.toFixed(2)}`).join(', ');
    println(`  round ${r.round}       ${support}; ${r.votesCounted} of ${r.eligible} voted${r.timedOut ? ', timed out' : ''}${r.achieved ? ', decided' : ''}`);
    for (const a of r.abstentions ?? []) println(color.yellow(`                ${a.voterId} cast no vote: ${a.reason}`));
  }
  for (const b of o.byzantine) println(color.yellow(`  ⚑ ${b.voterId} round ${b.round}: ${b.reason.replace('_', ' ')}`));
}

function printVotes(votes: VoteRecord[]): void {
  printTable(
    ['ROUND', 'VOTER', 'DECISION', 'CONF', 'WEIGHT', 'COUNTED', 'REASON'],
    votes.map((v) => [
      String(v.round),
      v.voterId,
      v.decision,
      v.confidence.toFixed(2),
      Number.isInteger(v.weight) ? String(v.weight) : v.weight.toFixed(2),
      v.status === 'counted' ? color.green('yes') : color.red(`no: ${v.exclusion ?? ''}`),
      truncate(v.reason, 60),
    ]),
  );
}

function statusText(status: ProposalStatus): string {
  const text = status.replace('_', ' ');
  if (status === 'accepted') return color.green(text);
  if (status === 'rejected' || status === 'failed') return color.red(text);
  if (status === 'open') return color.cyan(text);
  return color.yellow(text);
}

/** A share option (`--threshold 0.67`): a number greater than 0 and at most 1. */
function share(name: string, value: string): number {
  const n = Number(value);
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) || !(n > 0 && n <= 1)) {
    throw new ValidationError(`option ${name}: expected a number greater than 0 and at most 1, got "${value}"`);
  }
  return n;
}
