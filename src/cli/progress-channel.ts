import { createWriteStream, type WriteStream } from "node:fs";
import type { RequestRecord } from "../bench/request-record.js";

/** What a run reports as it goes, one JSON line each: the dashboard's run jobs read them. */
export type ProgressEvent =
  /** `total`: the measured requests to come (0 for a run bounded by time). */
  | { type: "target"; target: string; workload: string; total: number }
  | { type: "request"; target: string; at_ms: number; e2e_ms: number; ttft_ms?: number; error: boolean }
  | { type: "saved"; run: string };

/**
 * The progress channel a parent process opened for this one: the file descriptor in `INFERGATE_PROGRESS_FD`
 * (the dashboard runs compare and bench as children and watches them this way). Absent: nothing is written.
 */
export class ProgressChannel {
  readonly #stream: WriteStream;

  private constructor(fd: number) {
    this.#stream = createWriteStream("", { fd });
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ProgressChannel | undefined {
    const fd = Number(env.INFERGATE_PROGRESS_FD);
    return Number.isInteger(fd) && fd > 2 ? new ProgressChannel(fd) : undefined;
  }

  send(event: ProgressEvent): void {
    this.#stream.write(`${JSON.stringify(event)}\n`);
  }

  /** A measured request, as the scatter and rolling percentiles need it. */
  request(target: string, record: RequestRecord): void {
    if (record.warmup) return;
    const first = record.chunkTimes[0];
    this.send({
      type: "request",
      target,
      at_ms: Math.round(record.sentAt),
      e2e_ms: record.endAt - record.sentAt,
      ...(first !== undefined && { ttft_ms: first - record.sentAt }),
      error: record.error !== undefined,
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}
