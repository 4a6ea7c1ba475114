import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { AggregatorRegistry, type Registry } from "prom-client";

/**
 * `serve --workers N`: N gateway processes share the listening port (node:cluster), so a proxy-heavy gateway
 * uses more than one core. Each worker loads its own copy of the models. `/metrics`, whichever worker answers
 * it, reports the sum over all of them.
 */
const METRICS_REQUEST = "infergate:metrics-request";
const METRICS_REPLY = "infergate:metrics-reply";

interface MetricsMessage {
  type: typeof METRICS_REQUEST | typeof METRICS_REPLY;
  id: number;
  text?: string;
  error?: string;
}

/**
 * The primary: forks the workers, answers their metrics requests with the cluster-wide aggregate, replaces a
 * worker that dies, and on SIGTERM/SIGINT drains them all. Resolves with the exit code once they are gone.
 */
export function runPrimary(count: number, logger: Logger): Promise<number> {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let failed = false;
  cluster.on("message", (worker: Worker, message: MetricsMessage) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_REPLY, id: message.id, text } satisfies MetricsMessage),
      (error: Error) =>
        worker.send({ type: METRICS_REPLY, id: message.id, error: error.message } satisfies MetricsMessage),
    );
  });
  for (let i = 0; i < count; i++) cluster.fork();
  logger.info({ workers: count }, "started workers");
  logger.flush();
  return new Promise((resolve) => {
    cluster.on("exit", (worker, code, signal) => {
      if (code !== 0) failed = true;
      if (!stopping) {
        logger.error({ pid: worker.process.pid, code, signal }, "worker died; starting another");
        cluster.fork();
        return;
      }
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(failed ? 1 : 0);
    });
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "draining workers");
      logger.flush();
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

/** In a worker: offer this worker's registry to the primary's aggregation. */
export function shareMetrics(registry: Registry): void {
  // Constructing one is what makes prom-client answer the primary's requests in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: the text for `/metrics`, aggregated over every worker by the primary. */
export function clusterMetricsText(): () => Promise<string> {
  const pending = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  let next = 0;
  process.on("message", (message: MetricsMessage) => {
    if (message?.type !== METRICS_REPLY) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.text ?? "");
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsMessage);
    });
}

export const isClusterWorker = () => cluster.isWorker;
