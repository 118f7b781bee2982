import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SANDBOX_STATES } from '../core/state.js';
import type { AnyEvent } from '../core/events.js';
import type { SandboxService } from '../core/sandbox-service.js';
import type { Api } from './app.js';

// shedd's Prometheus metrics, fed by core's events (counts, phase timings) and read from
// core at scrape time (sandboxes by state, agent links). Labels stay low-cardinality: no
// sandbox ids, no argv; per-sandbox figures belong to `shed inspect`, not here.

export interface MetricsSources {
  readonly sandboxes: SandboxService;
  /**
   * Memory charged to every sandbox's cgroup together (the daemon's cgroup scope), or
   * undefined when the host cannot say. @default the gauge is left out
   */
  readonly sandboxMemoryBytes?: () => Promise<number | undefined>;
}

const OPERATIONS = {
  created: ['create', 'ok'], create_failed: ['create', 'error'], started: ['start', 'ok'], start_failed: ['start', 'error'],
  stopped: ['stop', 'ok'], stop_failed: ['stop', 'error'], deleted: ['delete', 'ok'], delete_failed: ['delete', 'error'],
} as const satisfies Partial<Record<AnyEvent['type'], readonly [string, 'ok' | 'error']>>;

/** Seconds: a cold create is ~20 ms here; a slow image resolve or runtime takes seconds. */
const CREATE_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: an exec of `true` is ~2 ms; the command's own run time is part of it. */
const EXEC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120];

export class ShedMetrics {
  readonly registry = new Registry();
  readonly #operations: Counter<'operation' | 'outcome'>;
  readonly #execs: Counter<'outcome'>;
  readonly #lifecycle: Counter<'event'>;
  readonly #createSeconds: Histogram;
  readonly #startSeconds: Histogram;
  readonly #execSeconds: Histogram;
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #stopListening: () => void;

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#operations = new Counter({
      name: 'shed_sandbox_operations_total', help: 'Sandbox creates, starts, stops and deletes by outcome',
      labelNames: ['operation', 'outcome'], registers,
    });
    for (const [operation, outcome] of Object.values(OPERATIONS)) this.#operations.inc({ operation, outcome }, 0);
    this.#lifecycle = new Counter({
      name: 'shed_sandbox_lifecycle_events_total', help: 'Sandboxes adopted or found dead by a starting shedd', labelNames: ['event'], registers,
    });
    for (const event of ['adopted', 'died']) this.#lifecycle.inc({ event }, 0);
    this.#execs = new Counter({ name: 'shed_execs_total', help: 'Buffered execs by outcome (ok: the command exited, whatever its status)', labelNames: ['outcome'], registers });
    for (const outcome of ['ok', 'error']) this.#execs.inc({ outcome }, 0);
    this.#createSeconds = new Histogram({ name: 'shed_sandbox_create_seconds', help: 'Create to exec-ready', buckets: CREATE_BUCKETS, registers });
    this.#startSeconds = new Histogram({ name: 'shed_sandbox_start_seconds', help: 'Start of a stopped sandbox to exec-ready', buckets: CREATE_BUCKETS, registers });
    this.#execSeconds = new Histogram({ name: 'shed_exec_seconds', help: 'Buffered exec round trip inside shedd, command run time included', buckets: EXEC_BUCKETS, registers });
    this.#requests = new Counter({ name: 'shed_api_requests_total', help: 'API requests by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.#gauges(src, registers);
    this.#stopListening = src.sandboxes.events.listen((e) => this.#observe(e));
  }

  /** Counts every request when its response closes (streams and hijacked replies included). */
  countRequests(app: Api): void {
    app.addHook('onRequest', (req, reply, done) => {
      reply.raw.once('close', () => {
        this.#requests.inc({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.raw.statusCode) });
      });
      done();
    });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    this.#stopListening();
  }

  #observe(e: AnyEvent): void {
    if (e.type in OPERATIONS) {
      const [operation, outcome] = OPERATIONS[e.type as keyof typeof OPERATIONS]; // checked by `in` just above
      this.#operations.inc({ operation, outcome });
    }
    if (e.type === 'created') this.#seconds(this.#createSeconds, e.details.timings);
    else if (e.type === 'started') this.#seconds(this.#startSeconds, e.details.timings);
    else if (e.type === 'exec') {
      this.#execs.inc({ outcome: 'ok' });
      this.#seconds(this.#execSeconds, e.details.timings);
    } else if (e.type === 'exec_failed') this.#execs.inc({ outcome: 'error' });
    else if (e.type === 'adopted' || e.type === 'died') this.#lifecycle.inc({ event: e.type });
  }

  #seconds(h: Histogram, timings: Readonly<Record<string, number>>): void {
    const ms = timings['total'];
    if (ms !== undefined) h.observe(ms / 1000);
  }

  #gauges(src: MetricsSources, registers: Registry[]): void {
    const { sandboxes } = src;
    new Gauge({
      name: 'shed_sandboxes', help: 'Sandboxes by state', labelNames: ['state'], registers,
      collect() {
        const counts = new Map<string, number>(SANDBOX_STATES.filter((s) => s !== 'deleted').map((s) => [s, 0]));
        for (const s of sandboxes.list()) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'shed_agent_links', help: 'Sandboxes with a live agent link', registers, collect() { this.set(sandboxes.liveCount); } });
    new Gauge({ name: 'shed_event_subscribers', help: 'Readers of the event stream', registers, collect() { this.set(sandboxes.events.subscriberCount); } });
    new Gauge({
      name: 'shed_pool_free_members', help: 'Free members of each warm pool (not counted in shed_sandboxes)', labelNames: ['pool'], registers,
      collect() {
        this.reset(); // a removed pool's series goes with it
        for (const p of sandboxes.pools.list()) this.set({ pool: p.spec.name }, p.free);
      },
    });
    const memory = src.sandboxMemoryBytes;
    if (memory === undefined) return;
    new Gauge({
      name: 'shed_sandbox_memory_bytes', help: "Memory charged to all sandboxes' cgroups together (page cache included)", registers,
      async collect() {
        // A failed read keeps the last figure: a gap is better than a false zero.
        const bytes = await memory().catch(() => undefined);
        if (bytes !== undefined) this.set(bytes);
      },
    });
  }
}
