import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Colony } from '../app/colony.js';
import type { Subscription } from '../ports/event-bus.js';

/** The seed's buckets for task durations, in seconds. */
export const TASK_DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60];
/** HTTP request durations, in seconds: the API answers in about a millisecond. */
export const HTTP_DURATION_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Task types remembered between a task's start and its end (for the `type` label), at most. */
const MAX_TRACKED_TASKS = 10_000;

/**
 * Prometheus metrics of one server, on its own registry (nothing global: two servers in one process
 * keep separate counts). Task counters and durations count what this process observes on its event
 * bus since it started, as Prometheus counters do; gauges (agents, tasks by status) are read from the
 * store at each scrape, so they cover every process sharing the database.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly subscription: Subscription;
  private readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly typeOf = new Map<string, string>();

  constructor(colony: Colony, sources: { streamClients: () => number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const tasksTotal = new Counter({
      name: 'colony_tasks_total',
      help: 'Tasks that reached a final state (completed, failed for good, cancelled), observed by this process',
      labelNames: ['type', 'status'] as const,
      registers,
    });
    const taskDuration = new Histogram({
      name: 'colony_task_duration_seconds',
      help: 'Duration of completed task attempts, observed by this process',
      labelNames: ['type'] as const,
      buckets: TASK_DURATION_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'colony_active_agents',
      help: 'Agents that are not terminated, by type (all processes sharing the database)',
      labelNames: ['type'] as const,
      registers,
      async collect() {
        const agents = await colony.agents.list({ excludeTerminated: true });
        const counts = new Map<string, number>();
        for (const a of agents) counts.set(a.type, (counts.get(a.type) ?? 0) + 1);
        this.reset();
        for (const [type, n] of counts) this.set({ type }, n);
      },
    });
    new Gauge({
      name: 'colony_tasks',
      help: 'Tasks in the store by status (all processes sharing the database)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const counts = await colony.tasks.countByStatus();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    new Gauge({
      // What worker autoscaling (KEDA's Prometheus scaler) reads. One store-wide count, no `pool`
      // label: the store counts by pool only for a pool named in advance, and a pool no live process
      // serves is the one that most needs a worker, so a per-pool split would miss exactly that.
      // Every replica reports the same value: aggregate with max(), not sum().
      name: 'colony_task_queue_depth',
      help: 'Tasks queued and ready to run, not yet claimed by a runner (all processes sharing the database)',
      registers,
      async collect() {
        this.set(await colony.tasks.count({ status: 'queued' }));
      },
    });
    new Gauge({
      name: 'colony_event_stream_clients',
      help: 'WebSocket clients connected to the event stream',
      registers,
      collect() {
        this.set(sources.streamClients());
      },
    });
    this.httpRequests = new Counter({
      name: 'colony_http_requests_total',
      help: 'HTTP requests answered, by route and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'colony_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by route',
      labelNames: ['method', 'route'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });

    const typeFor = async (taskId: string): Promise<string> => {
      const known = this.typeOf.get(taskId);
      if (known !== undefined) return known;
      return (await colony.tasks.get(taskId).catch(() => undefined))?.type ?? 'unknown';
    };
    const finish = (taskId: string, status: string, seconds?: number) => {
      void typeFor(taskId).then((type) => {
        tasksTotal.inc({ type, status });
        if (seconds !== undefined) taskDuration.observe({ type }, seconds);
      });
      this.typeOf.delete(taskId);
    };
    this.subscription = colony.events.subscribe({ types: ['task.started', 'task.completed', 'task.failed', 'task.cancelled'] }, (event) => {
      switch (event.type) {
        case 'task.started': {
          const d = event.data;
          if (this.typeOf.size >= MAX_TRACKED_TASKS) this.typeOf.delete(this.typeOf.keys().next().value as string);
          this.typeOf.set(d.taskId, d.type);
          break;
        }
        case 'task.completed': {
          const d = event.data;
          finish(d.taskId, 'completed', d.durationMs / 1000);
          break;
        }
        case 'task.failed': {
          const d = event.data;
          if (!d.willRetry) finish(d.taskId, 'failed');
          break;
        }
        case 'task.cancelled':
          finish(event.data.taskId, 'cancelled');
          break;
      }
    });
  }

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status_code: statusCode });
    this.httpDuration.observe({ method, route }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.subscription.unsubscribe();
    this.registry.clear();
  }
}
