import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { AggregatorRegistry, type Registry } from "prom-client";
import { type LiveData, mergeLiveData } from "../telemetry/live-view.js";
import type { ResponseStorage, ResponseStore, StoredResponse } from "./openai/response-store.js";

/**
 * `serve --workers N`: N gateway processes share the listening port (node:cluster), so a proxy-heavy gateway
 * uses more than one core. Each worker loads its own copy of the models. What must be one for the whole gateway
 * lives in the primary, and workers ask it over the cluster's IPC channel: `/metrics`, whichever worker answers
 * it, reports the sum over all of them, and so does the dashboard's live view; stored Responses API responses are
 * one store, so a conversation can be continued on any worker.
 */
const REQUEST = "infergate:request";
const REPLY = "infergate:reply";
/** The primary asking every worker for its live data, and their answers. */
const COLLECT = "infergate:collect";
const COLLECTED = "infergate:collected";
/** A worker that has not answered by then is left out of the live view (it may be starting or stuck). */
const COLLECT_TIMEOUT_MS = 1000;

/** What a worker can ask the primary for, with what it sends and gets back. */
interface PrimaryCalls {
  metrics: { args: []; result: string };
  live: { args: []; result: LiveData };
  "responses.get": { args: [id: string, owner: string]; result: StoredResponse | undefined };
  "responses.set": { args: [id: string, owner: string, stored: StoredResponse]; result: undefined };
  "responses.item": { args: [id: string, owner: string]; result: Record<string, unknown> | undefined };
}
type Call = keyof PrimaryCalls;

interface RequestMessage {
  type: typeof REQUEST;
  id: number;
  call: Call;
  args: unknown[];
}

interface ReplyMessage {
  type: typeof REPLY;
  id: number;
  result?: unknown;
  error?: string;
}

/**
 * The primary: forks the workers, answers their calls (the cluster-wide metrics aggregate, the shared response
 * store), replaces a worker that dies, and on SIGTERM/SIGINT drains them all. Resolves with the exit code once
 * they are gone.
 */
export function runPrimary(count: number, logger: Logger, responses: ResponseStore): Promise<number> {
  const aggregator = new AggregatorRegistry();
  const calls: { [C in Call]: (...args: PrimaryCalls[C]["args"]) => Promise<PrimaryCalls[C]["result"]> } = {
    metrics: () => aggregator.clusterMetrics(),
    live: collectLive,
    "responses.get": (id, owner) => responses.get(id, owner),
    "responses.set": async (id, owner, stored) => {
      await responses.set(id, owner, stored);
      return undefined;
    },
    "responses.item": (id, owner) => responses.item(id, owner),
  };
  let stopping = false;
  let failed = false;
  cluster.on("message", (worker: Worker, message: RequestMessage | CollectedMessage) => {
    if (message?.type === COLLECTED) return collected.get(message.id)?.(message.data);
    if (message?.type !== REQUEST) return;
    const handler = calls[message.call] as (...args: unknown[]) => Promise<unknown>;
    handler(...message.args).then(
      (result) => worker.send({ type: REPLY, id: message.id, result } satisfies ReplyMessage),
      (error: Error) =>
        worker.send({ type: REPLY, id: message.id, error: error.message } satisfies ReplyMessage),
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

interface CollectedMessage {
  type: typeof COLLECTED;
  id: number;
  data: LiveData;
}

/** Collections under way in the primary: each worker's answer, by collection id. */
const collected = new Map<number, (data: LiveData) => void>();
let nextCollection = 0;

/** In the primary: every worker's live data, summed (a worker that does not answer within 1 s left out). */
function collectLive(): Promise<LiveData> {
  const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker?.isConnected());
  const id = nextCollection++;
  const parts: LiveData[] = [];
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      collected.delete(id);
      resolve(mergeLiveData(parts));
    };
    const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
    collected.set(id, (data) => {
      parts.push(data);
      if (parts.length === workers.length) finish();
    });
    for (const worker of workers) worker?.send({ type: COLLECT, id });
    if (workers.length === 0) finish();
  });
}

/** In a worker: answer the primary's collections with this worker's live data. */
export function shareLive(read: () => LiveData): void {
  process.on("message", (message: { type?: string; id?: number }) => {
    if (message?.type === COLLECT)
      process.send?.({ type: COLLECTED, id: message.id, data: read() } satisfies Partial<CollectedMessage>);
  });
}

/** In a worker: the live view's data, summed over every worker by the primary. */
export function clusterLive(): () => Promise<LiveData> {
  return () => askPrimary("live");
}

/** In a worker: offer this worker's registry to the primary's aggregation. */
export function shareMetrics(registry: Registry): void {
  // Constructing one is what makes prom-client answer the primary's requests in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: calls answered by the primary, each awaited by its id. */
function primaryCaller() {
  const pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  let next = 0;
  process.on("message", (message: ReplyMessage) => {
    if (message?.type !== REPLY) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  return <C extends Call>(call: C, ...args: PrimaryCalls[C]["args"]): Promise<PrimaryCalls[C]["result"]> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      process.send?.({ type: REQUEST, id, call, args } satisfies RequestMessage);
    });
}

let caller: ReturnType<typeof primaryCaller> | undefined;
const askPrimary: ReturnType<typeof primaryCaller> = (call, ...args) => {
  caller ??= primaryCaller();
  return caller(call, ...args);
};

/** In a worker: the text for `/metrics`, aggregated over every worker by the primary. */
export function clusterMetricsText(): () => Promise<string> {
  return () => askPrimary("metrics");
}

/** In a worker: the primary's response store, shared by every worker. */
export function clusterResponseStore(): ResponseStorage {
  return {
    get: (id, owner) => askPrimary("responses.get", id, owner),
    set: (id, owner, stored) => askPrimary("responses.set", id, owner, stored),
    item: (id, owner) => askPrimary("responses.item", id, owner),
  };
}

export const isClusterWorker = () => cluster.isWorker;
