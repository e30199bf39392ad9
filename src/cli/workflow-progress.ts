import type { Colony } from '../app/colony.js';
import type { Subscription } from '../ports/event-bus.js';
import type { ColonyEvent } from '../domain/events.js';
import type { TaskStatus } from '../domain/task.js';
import { formatDuration } from '../tasks/duration.js';
import { LiveBlock, progressBar } from './live-block.js';
import { color } from './output.js';

/** Redraw cadence of the live display on a terminal. */
const RENDER_INTERVAL_MS = 100;
const BAR_WIDTH = 24;
const MAX_RUNNING_SHOWN = 8;

interface RunningTask {
  name: string;
  startedAt: number;
  attempt: number;
}

/**
 * The live view of a workflow run, on stderr so that stdout stays clean for results. On a terminal:
 * a progress bar and the running tasks, redrawn in place, with finished tasks logged above. Elsewhere
 * (CI logs, pipes): one line per task event.
 */
export class WorkflowProgress {
  private readonly block = new LiveBlock();
  private readonly tty = this.block.tty;
  private readonly running = new Map<string, RunningTask>();
  private counts: Record<TaskStatus, number>;
  private retrying = 0;
  private timer: NodeJS.Timeout | null = null;
  private subscription: Subscription | null = null;
  private readonly started = Date.now();
  private readonly name: string;

  constructor(name: string, initial: Record<TaskStatus, number>) {
    this.name = name;
    this.counts = { ...initial };
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  attach(colony: Colony, workflowId: string): void {
    this.subscription = colony.events.subscribe({ types: ['task.*'], correlationId: workflowId }, (e) => this.onEvent(e));
    if (this.tty) {
      this.timer = setInterval(() => this.render(), RENDER_INTERVAL_MS);
      this.timer.unref();
      this.render();
    }
  }

  detach(): void {
    this.subscription?.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    if (this.tty) this.render(true);
  }

  private move(from: TaskStatus, to: TaskStatus): void {
    this.counts[from] = Math.max(0, this.counts[from] - 1);
    this.counts[to] += 1;
  }

  private onEvent(event: ColonyEvent): void {
    switch (event.type) {
      case 'task.queued':
        this.move('pending', 'queued');
        break;
      case 'task.started': {
        const d = event.data;
        if (d.attempt > 1) this.retrying = Math.max(0, this.retrying - 1);
        this.move('queued', 'running');
        this.running.set(d.taskId, { name: d.name ?? d.taskId, startedAt: event.timestamp, attempt: d.attempt });
        if (!this.tty) this.log(`${color.cyan('▸')} ${d.name ?? d.taskId} started${d.attempt > 1 ? ` (attempt ${d.attempt})` : ''}`);
        break;
      }
      case 'task.completed': {
        const d = event.data;
        this.running.delete(d.taskId);
        this.move('running', 'completed');
        this.log(`${color.green('✓')} ${d.name ?? d.taskId} ${color.dim(formatDuration(d.durationMs))}`);
        break;
      }
      case 'task.failed': {
        const d = event.data;
        this.running.delete(d.taskId);
        if (d.willRetry) {
          this.retrying += 1;
          this.move('running', 'queued');
          this.log(`${color.yellow('↻')} ${d.name ?? d.taskId} failed (${d.error.message.split('\n')[0]}); retrying in ${formatDuration(d.retryInMs ?? 0)}`);
        } else {
          this.move('running', 'failed');
          this.log(`${color.red('✗')} ${d.name ?? d.taskId} failed after ${d.attempt} attempt${d.attempt === 1 ? '' : 's'}: ${d.error.message.split('\n')[0]}`);
        }
        break;
      }
      case 'task.cancelled': {
        const d = event.data;
        this.running.delete(d.taskId);
        this.move(d.from, 'cancelled');
        this.log(`${color.yellow('⊘')} ${d.name ?? d.taskId} cancelled: ${d.reason}`);
        break;
      }
      case 'task.recovered': {
        const d = event.data;
        this.move('running', 'queued');
        this.log(`${color.yellow('↺')} ${d.name ?? d.taskId} recovered from a stopped run; it will run again`);
        break;
      }
      case 'task.rolledback': {
        const d = event.data;
        this.log(`${d.ok ? color.dim('↶') : color.red('↶')} ${d.name ?? d.taskId} rollback ${d.ok ? 'done' : `failed: ${d.error}`}`);
        break;
      }
      default:
        break;
    }
  }

  /** A permanent line: above the live block on a terminal, plain otherwise. */
  log(line: string): void {
    this.block.log(line);
  }

  private render(final = false): void {
    const c = this.counts;
    const done = c.completed + c.failed + c.cancelled;
    const total = Math.max(1, this.total);
    const bar = progressBar(done / total, BAR_WIDTH);
    const parts = [
      `${done}/${this.total}`,
      `${color.cyan('●')} ${c.running} running`,
      c.failed ? color.red(`✗ ${c.failed} failed`) : `✗ 0 failed`,
      this.retrying ? color.yellow(`↻ ${this.retrying} retrying`) : '',
      c.cancelled ? color.yellow(`⊘ ${c.cancelled} cancelled`) : '',
      color.dim(formatDuration(Date.now() - this.started)),
    ].filter(Boolean);
    const lines = [`${color.bold(this.name)} ${bar} ${parts.join('  ')}`];
    if (!final) {
      const now = Date.now();
      const shown = [...this.running.values()].slice(0, MAX_RUNNING_SHOWN);
      for (const r of shown) lines.push(`  ${color.cyan('▸')} ${r.name} ${color.dim(`${formatDuration(now - r.startedAt)}${r.attempt > 1 ? `, attempt ${r.attempt}` : ''}`)}`);
      if (this.running.size > shown.length) lines.push(color.dim(`  … and ${this.running.size - shown.length} more`));
    }
    this.block.draw(lines, final);
  }
}
