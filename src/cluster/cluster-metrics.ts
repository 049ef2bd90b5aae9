import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

// With --workers N, the admin listener is shared like the gateway's: a scrape of /metrics lands
// on one worker at random. So a worker asks the primary, which collects every worker's series
// through prom-client's cluster aggregation and answers the whole pool in one text. The series
// stay apart by their `node` label (host/w1, host/w2...); sum by() in PromQL for pool totals.

const REQ = 'pinpoint:pool-metrics-req';
const RES = 'pinpoint:pool-metrics-res';
const TIMEOUT_MS = 5000;

type Req = { type: typeof REQ; id: number };
type Res = { type: typeof RES; id: number; text?: string; error?: string };

/** In the primary of runWorkers: answers workers' requests for the pool's metrics. */
export function servePoolMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, msg: Req) => {
    if (msg?.type !== REQ) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RES, id: msg.id, text } satisfies Res),
      (err: Error) => worker.send({ type: RES, id: msg.id, error: err.message } satisfies Res),
    );
  });
}

let nextId = 1;
const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
let listening = false;

/** In a worker: makes this registry's series part of the pool's answer. */
export function joinPoolMetrics(registry: Registry): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([registry]);
  // The constructor installs prom-client's worker-side listener that answers the primary.
  new AggregatorRegistry();
  if (listening) return;
  listening = true;
  process.on('message', (msg: Res) => {
    if (msg?.type !== RES) return;
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.error !== undefined) w.reject(new Error(msg.error)); else w.resolve(msg.text ?? '');
  });
}

/** True when /metrics should answer for the whole worker pool. */
export const inWorkerPool = (): boolean => cluster.isWorker && typeof process.send === 'function';

/** The pool's metrics, from the primary; rejects after 5 s (a worker that does not answer). */
export function poolMetricsText(): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { waiting.delete(id); reject(new Error('the worker pool did not answer within 5 s')); }, TIMEOUT_MS);
    waiting.set(id, { resolve, reject, timer });
    process.send!({ type: REQ, id } satisfies Req);
  });
}
