import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../server/logger.ts';
import { servePoolMetrics } from './cluster-metrics.ts';

/** True in a process forked by runWorkers: one-time work (reset, writing files) is the primary's. */
export const isWorkerProcess = (): boolean => cluster.isWorker;

/** The worker's number (1..N), or 0 outside a worker pool. */
export const workerNumber = (): number => (cluster.isWorker ? Number(process.env.PINPOINT_WORKER_NUMBER ?? cluster.worker?.id ?? 0) : 0);

/**
 * The primary of `--workers N`: forks N copies of this very command, which share the
 * listening sockets (node:cluster hands connections out round-robin), replaces a worker
 * that dies, forwards SIGHUP (reload) and drains them all on SIGINT/SIGTERM. The primary
 * serves nothing itself.
 */
export function runWorkers(count: number, logger: Logger): Promise<number> {
  const numbers = new Map<Worker, number>();
  let stopping = false;
  let quickDeaths = 0;
  const fork = (n: number): void => {
    const started = Date.now();
    const w = cluster.fork({ PINPOINT_WORKER_NUMBER: String(n) });
    numbers.set(w, n);
    w.once('exit', (code, signal) => {
      numbers.delete(w);
      if (stopping) return;
      // A worker that cannot start (bad config, port taken) would die again at once: give up.
      quickDeaths = Date.now() - started < 2000 ? quickDeaths + 1 : 0;
      if (quickDeaths >= count * 2) {
        logger.error({ event: 'workers_failing' }, `workers keep exiting at start (last: ${signal ?? code}); stopping`);
        stop('workers failing', 1);
        return;
      }
      logger.warn({ event: 'worker_replaced', worker: n, code, signal }, `worker ${n} exited (${signal ?? code}); starting a new one`);
      fork(n);
    });
  };
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => { resolveDone = r; });
  const stop = (why: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal: why, workers: numbers.size }, `${why}: draining ${numbers.size} workers`);
    const force = setTimeout(() => { for (const w of numbers.keys()) w.process.kill('SIGKILL'); }, 12_000);
    force.unref();
    if (numbers.size === 0) resolveDone(code);
    for (const w of numbers.keys()) {
      w.once('exit', () => { if (numbers.size === 0) { clearTimeout(force); resolveDone(code); } });
      w.process.kill('SIGTERM');
    }
  };
  process.on('SIGINT', () => stop('received SIGINT'));
  process.on('SIGTERM', () => stop('received SIGTERM'));
  process.on('SIGHUP', () => { for (const w of numbers.keys()) w.process.kill('SIGHUP'); });
  servePoolMetrics();
  for (let i = 1; i <= count; i++) fork(i);
  logger.info({ event: 'workers_started', workers: count }, `started ${count} worker processes sharing the listener`);
  return done.then((code) => { process.exit(code); });
}
