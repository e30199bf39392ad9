import type { Colony } from '../app/colony.js';
import type { Subscription } from '../ports/event-bus.js';
import type { AgentRecord } from '../domain/agent.js';
import type { ColonyEvent, ColonyEventMap } from '../domain/events.js';
import type { SwarmRecord, SwarmStatus } from '../domain/swarm.js';
import type { SwarmStatusReport, SwarmTaskView } from '../swarm/swarms.js';
import { formatDuration } from '../tasks/duration.js';
import { LiveBlock, progressBar } from './live-block.js';
import { color, truncate } from './output.js';

/** Redraw cadence of the live display on a terminal, and how often it re-reads the swarm's status. */
const RENDER_INTERVAL_MS = 100;
const REFRESH_INTERVAL_MS = 500;
const BAR_WIDTH = 24;
const MAX_TASKS_SHOWN = 10;
const MAX_VOTES_SHOWN = 3;
const TITLE_WIDTH = 48;

interface VoteView {
  proposalId: string;
  question: string;
  /** The engine task whose result is voted on, if any. */
  taskId: string | null;
  voters: number;
  votes: Map<string, string>;
  decided: string | null;
}

/** A plan task's state as a symbol, for both the live block and the final table. */
export function taskSymbol(status: SwarmTaskView['status']): string {
  switch (status) {
    case 'completed':
      return color.green('✓');
    case 'failed':
      return color.red('✗');
    case 'cancelled':
      return color.yellow('⊘');
    case 'running':
      return color.cyan('▸');
    case 'waiting':
    case 'pending':
      return color.dim('·');
    default:
      return color.dim('○');
  }
}

/** Tokens and cost as one short phrase: `12.3k tokens, $0.0123`. */
export function usageText(usage: SwarmRecord['usage']): string {
  const tokens = usage.inputTokens + usage.outputTokens;
  const t = tokens >= 10_000 ? `${(tokens / 1000).toFixed(1)}k` : String(tokens);
  const cost = usage.costUsd === null ? 'cost unknown' : `$${usage.costUsd.toFixed(4)}`;
  return `${t} tokens, ${cost}`;
}

/**
 * The live view of a swarm, on stderr so that stdout stays clean for results. It follows the events
 * correlated with the swarm (swarm.*, its task.* and consensus events) and re-reads the swarm's
 * status report. On a terminal: a header with progress and usage, the plan's tasks with their agents,
 * the agents and the latest votes, redrawn in place, with notable events logged above. Elsewhere (CI
 * logs, pipes): one line per event.
 */
export class SwarmProgress {
  private readonly block = new LiveBlock();
  private readonly tty = this.block.tty;
  private readonly colony: Colony;
  private swarm: SwarmRecord;
  private tasks: SwarmTaskView[] = [];
  private agents: AgentRecord[] = [];
  private readonly titles = new Map<string, string>();
  /** Engine task id → plan task id, from dispatch events. */
  private readonly planTaskOf = new Map<string, string>();
  private readonly votes = new Map<string, VoteView>();
  private renderTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private subscription: Subscription | null = null;
  private readonly started = Date.now();
  /** When the last status event was published (reads older than it do not change the status). */
  private statusEventAt = 0;
  private detached = false;

  constructor(colony: Colony, swarm: SwarmRecord) {
    this.colony = colony;
    this.swarm = swarm;
    for (const t of swarm.plan?.tasks ?? []) this.titles.set(t.id, t.title);
  }

  attach(): void {
    this.subscription = this.colony.events.subscribe({ correlationId: this.swarm.id }, (e) => this.onEvent(e));
    // Re-reading the status also shows what other processes did (a pause or stop from `colony swarm pause`).
    this.refreshTimer = setInterval(() => void this.refresh(), REFRESH_INTERVAL_MS);
    this.refreshTimer.unref();
    void this.refresh();
    if (this.tty) {
      this.renderTimer = setInterval(() => this.render(), RENDER_INTERVAL_MS);
      this.renderTimer.unref();
      this.render();
    }
  }

  detach(): void {
    this.detached = true;
    this.subscription?.unsubscribe();
    if (this.renderTimer) clearInterval(this.renderTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.block.stop();
  }

  /** Re-reads the swarm's status (one at a time; a failure only skips this refresh). */
  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const refreshing = this.colony.swarms
      .status(this.swarm.id)
      .then((report) => this.apply(report))
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = null;
      });
    this.refreshing = refreshing;
    return refreshing;
  }

  private apply(report: SwarmStatusReport): void {
    if (this.detached) return;
    // A read that started before the latest status event is stale as to the status.
    const stale = report.swarm.updatedAt < this.statusEventAt;
    if (!stale) this.noteStatus(report.swarm.status, null);
    this.swarm = { ...report.swarm, status: this.swarm.status };
    this.tasks = report.tasks;
    this.agents = report.agents;
    for (const t of report.tasks) {
      this.titles.set(t.planTaskId, t.title);
      if (t.taskId) this.planTaskOf.set(t.taskId, t.planTaskId);
    }
  }

  /** Logs a change of the swarm's status once, whether an event or a re-read told of it first. */
  private noteStatus(status: SwarmStatus, reason: string | null): void {
    const previous = this.swarm.status;
    if (status === previous) return;
    this.swarm = { ...this.swarm, status };
    this.log(`${color.bold('status')}: ${previous} → ${status}${reason ? color.dim(` (${reason})`) : ''}`);
  }

  /** A plan task's title for an engine task id (or the event's own name). */
  private titleOf(taskId: string, name: string | null): string {
    const planTaskId = this.planTaskOf.get(taskId);
    return (planTaskId && this.titles.get(planTaskId)) ?? name ?? taskId;
  }

  private async onEvent(event: ColonyEvent): Promise<void> {
    switch (event.type) {
      case 'swarm.planned': {
        const d = event.data;
        await this.refresh();
        const from = d.source === 'user' ? 'the plan file' : `the planner${d.attempts > 1 ? ` (${d.attempts} attempts)` : ''}`;
        this.log(`${color.bold('plan')}: ${d.tasks} task${d.tasks === 1 ? '' : 's'} from ${from}${d.domains.length ? `, domains ${d.domains.join(', ')}` : ''}`);
        if (!this.tty) {
          for (const t of this.swarm.plan?.tasks ?? []) {
            this.log(`  ${color.dim('·')} ${t.id}: ${truncate(t.title, TITLE_WIDTH)}${t.dependsOn.length ? color.dim(` (after ${t.dependsOn.join(', ')})`) : ''}`);
          }
        }
        break;
      }
      case 'swarm.task_dispatched': {
        const d = event.data;
        this.planTaskOf.set(d.taskId, d.planTaskId);
        if (!this.tty) this.log(`${color.cyan('▸')} ${this.titles.get(d.planTaskId) ?? d.planTaskId} → ${d.agentIds.join(', ') || 'any agent'}${d.pool ? color.dim(` (pool ${d.pool}${d.workerPool ? ', run by its workers' : ''})`) : ''}`);
        break;
      }
      case 'task.completed': {
        const d = event.data;
        this.log(`${color.green('✓')} ${this.titleOf(d.taskId, d.name)} ${color.dim(formatDuration(d.durationMs))}`);
        break;
      }
      case 'task.failed': {
        const d = event.data;
        const why = d.error.message.split('\n')[0] ?? '';
        this.log(d.willRetry ? `${color.yellow('↻')} ${this.titleOf(d.taskId, d.name)} failed (${why}); retrying` : `${color.red('✗')} ${this.titleOf(d.taskId, d.name)} failed: ${why}`);
        break;
      }
      case 'task.cancelled': {
        const d = event.data;
        this.log(`${color.yellow('⊘')} ${this.titleOf(d.taskId, d.name)} cancelled: ${d.reason}`);
        break;
      }
      case 'swarm.task_reviewed': {
        const d = event.data;
        const mark = d.verdict === 'accept' ? color.green('✔') : color.yellow('✎');
        this.log(`${mark} ${this.titles.get(d.planTaskId) ?? d.planTaskId}: ${d.verdict} by ${d.by}${d.feedback ? color.dim(` — ${truncate(d.feedback, 80)}`) : ''}`);
        break;
      }
      case 'swarm.replanned': {
        const d = event.data;
        void this.refresh();
        this.log(`${color.blue('+')} ${d.added.length} task${d.added.length === 1 ? '' : 's'} added by ${d.by}: ${d.added.join(', ')}`);
        break;
      }
      case 'swarm.task_merged': {
        const d = event.data;
        this.log(`${color.green('⇢')} ${this.titles.get(d.planTaskId) ?? d.planTaskId}: merged into the swarm's branch${d.resolvedBy ? ' (conflict resolved)' : ''}`);
        break;
      }
      case 'swarm.merge_conflicted': {
        const d = event.data;
        const what = d.resolvedBy ? 'an agent is resolving it' : 'left unresolved, both branches kept';
        this.log(`${color.yellow('⚠')} ${this.titles.get(d.planTaskId) ?? d.planTaskId}: merge conflict in ${d.files.join(', ')}; ${what}`);
        break;
      }
      case 'swarm.leader_changed': {
        const d = event.data;
        this.log(`${color.yellow('⚑')} leader ${d.previous ? `${d.previous} → ` : ''}${d.next}${d.reason ? color.dim(` (${d.reason})`) : ''}`);
        break;
      }
      case 'swarm.status_changed': {
        const d = event.data;
        this.statusEventAt = event.timestamp;
        this.noteStatus(d.status, d.reason);
        break;
      }
      case 'swarm.progress': {
        const d = event.data;
        this.swarm = { ...this.swarm, progress: d.progress, usage: { ...this.swarm.usage, ...d.usage } };
        break;
      }
      case 'agent.spawned': {
        const d = event.data;
        if (!this.tty) this.log(`${color.blue('+')} agent ${d.name} (${d.type})`);
        break;
      }
      case 'consensus.proposed': {
        const d = event.data;
        const view: VoteView = { proposalId: d.proposalId, question: d.question, taskId: d.taskId, voters: d.voters, votes: new Map(), decided: null };
        this.votes.set(d.proposalId, view);
        if (!this.tty) this.log(`${color.blue('?')} ${this.voteSubject(view)} ${color.dim(`(${d.voters} voters, ${d.strategy})`)}`);
        break;
      }
      case 'vote.cast': {
        const d = event.data;
        const view = this.votes.get(d.proposalId);
        view?.votes.set(d.voterId, d.decision);
        const about = view?.taskId ? ` on ${this.quotedTitle(view.taskId)}` : '';
        if (!this.tty) this.log(`  ${color.dim('vote')}${about}: ${d.voterId} → ${d.decision} ${color.dim(`(confidence ${d.confidence.toFixed(2)}${d.counted ? '' : ', not counted'})`)}`);
        break;
      }
      case 'voter.flagged': {
        const d = event.data;
        this.log(`${color.red('⚠')} voter ${d.voterId} flagged: ${d.reason}`);
        break;
      }
      case 'consensus.decided': {
        const d = event.data;
        const view = this.votes.get(d.proposalId);
        if (view) view.decided = d.decision ?? d.status.replace('_', ' ');
        this.log(`${color.blue('=')} ${decisionText(view ? this.voteSubject(view) : `vote ${d.proposalId}`, d, view?.taskId != null)}`);
        break;
      }
      default:
        break;
    }
  }

  /** A task's plan title in quotes, for an engine task id. */
  private quotedTitle(taskId: string): string {
    return `"${truncate(this.titleOf(taskId, null), TITLE_WIDTH)}"`;
  }

  /** What a vote is about: the task whose result it judges, else its question. */
  private voteSubject(view: VoteView): string {
    return view.taskId ? `vote on ${this.quotedTitle(view.taskId)}` : `vote "${truncate(view.question, 60)}"`;
  }

  /** A permanent line: above the live block on a terminal, plain otherwise. */
  log(line: string): void {
    this.block.log(line);
  }

  private render(): void {
    const s = this.swarm;
    const total = this.tasks.length;
    // Progress is completed work; failed and cancelled tasks are counted apart, never as progress.
    const done = this.tasks.filter((t) => t.status === 'completed').length;
    const running = this.tasks.filter((t) => t.status === 'running').length;
    const failed = this.tasks.filter((t) => t.status === 'failed').length;
    const cancelled = this.tasks.filter((t) => t.status === 'cancelled').length;
    const bar = progressBar(total === 0 ? 0 : done / total, BAR_WIDTH);
    const parts = [
      total ? `${done}/${total} completed` : 'no plan yet',
      `${color.cyan('●')} ${running} running`,
      failed ? color.red(`✗ ${failed} failed`) : '',
      cancelled ? color.yellow(`⊘ ${cancelled} cancelled`) : '',
      usageText(s.usage),
      color.dim(formatDuration(Date.now() - this.started)),
    ].filter(Boolean);
    const lines = [`${color.bold(s.name)} ${color.dim(s.topology)} ${s.status} ${bar} ${parts.join('  ')}`];

    // Running tasks first, then those about to run, then the finished ones.
    const order = (t: SwarmTaskView) => (t.status === 'running' ? 0 : t.status === 'completed' || t.status === 'failed' || t.status === 'cancelled' ? 2 : 1);
    const shown = [...this.tasks].sort((a, b) => order(a) - order(b)).slice(0, MAX_TASKS_SHOWN);
    for (const t of shown) {
      const who = t.agentId ? color.dim(` ${t.agentType ?? 'agent'} ${t.agentId}`) : '';
      lines.push(`  ${taskSymbol(t.status)} ${truncate(t.title, TITLE_WIDTH)}${who}${t.revisions > 0 ? color.yellow(` rev ${t.revisions}`) : ''}`);
    }
    if (this.tasks.length > shown.length) lines.push(color.dim(`  … and ${this.tasks.length - shown.length} more`));

    if (this.agents.length > 0) {
      const busy = this.agents.filter((a) => a.status === 'busy').length;
      const types = new Map<string, number>();
      for (const a of this.agents) types.set(a.type, (types.get(a.type) ?? 0) + 1);
      const byType = [...types].map(([type, n]) => `${type}×${n}`).join(' ');
      lines.push(`  ${color.bold('agents')} ${this.agents.length} (${busy} busy): ${byType}`);
    }
    for (const v of [...this.votes.values()].slice(-MAX_VOTES_SHOWN)) {
      const tally = new Map<string, number>();
      for (const decision of v.votes.values()) tally.set(decision, (tally.get(decision) ?? 0) + 1);
      const counts = [...tally].map(([d, n]) => `${d} ${n}`).join(', ') || 'no votes yet';
      lines.push(`  ${color.bold(this.voteSubject(v))}: ${v.votes.size}/${v.voters} voted — ${counts}${v.decided ? ` → decided ${v.decided}` : ''}`);
    }
    this.block.draw(lines);
  }
}

/**
 * A decided vote in words: what was decided and, for a yes/no vote on a task's result, what that
 * means, e.g. `vote on "Write the doc" decided approve: the result is accepted (100% of the votes, 1 round)`.
 */
export function decisionText(subject: string, d: ColonyEventMap['consensus.decided'], aboutResult: boolean): string {
  const rounds = `${d.rounds} round${d.rounds === 1 ? '' : 's'}`;
  if (d.decision === null) {
    // A swarm sends a result back only when its peers reject it.
    return `${subject}: no decision, ${d.status.replace('_', ' ')}${d.reason ? ` (${d.reason})` : ''}${aboutResult ? '; the result stands' : ''}`;
  }
  const meaning = !aboutResult ? '' : d.status === 'rejected' ? ': the result is rejected' : d.decision === 'approve' ? ': the result is accepted' : '';
  return `${subject} decided ${d.decision}${meaning} ${color.dim(`(${Math.round(d.ratio * 100)}% of the votes, ${rounds})`)}`;
}
