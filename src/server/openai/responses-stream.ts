import { UpstreamError } from "../../core/errors.js";
import type { GenerateChunk, TokenLogprobs, ToolCall, ToolCallDelta } from "../../core/types.js";
import type { SseStream } from "../http-io.js";
import {
  finishedStatus,
  functionCallItem,
  logprobsWire,
  messageItem,
  newId,
  outputText,
  type ResponseHeader,
  responseObject,
} from "./responses-wire.js";

type OpenItem =
  | { kind: "message"; id: string; index: number; text: string; logprobs?: TokenLogprobs[] }
  | { kind: "call"; id: string; index: number; callIndex: number; call: ToolCall };

/**
 * A generation as the Responses API's event stream: `response.created` and `response.in_progress`, then each
 * output item opened (`output_item.added`, a message's `content_part.added`), filled (`output_text.delta`,
 * `function_call_arguments.delta`) and closed (`….done`, `output_item.done`) before the next opens, and
 * `response.completed` (or `response.incomplete`) carrying the whole response. Every event has the next
 * `sequence_number`. A delta never comes before its item's `added` event: openai-node's stream reader throws
 * ("missing output at index N") when one does.
 */
export class ResponseEvents {
  #sequence = 0;
  readonly #output: Record<string, unknown>[] = [];
  #open: OpenItem | undefined;
  /** Function calls already closed, by the index their deltas carry. */
  readonly #closedCalls = new Set<number>();

  constructor(
    private readonly sse: SseStream,
    private readonly header: ResponseHeader,
  ) {}

  /** The calls and text written so far, for the stored conversation. */
  get output(): readonly Record<string, unknown>[] {
    return this.#output;
  }

  async start(): Promise<void> {
    const response = responseObject(this.header, "in_progress", []);
    await this.#emit("response.created", { response });
    await this.#emit("response.in_progress", { response });
  }

  async add(chunk: GenerateChunk): Promise<void> {
    if (chunk.text) await this.#text(chunk.text, chunk.logprobs);
    for (const delta of chunk.toolCalls ?? []) await this.#toolCall(delta);
  }

  /** Closes the open item; returns the finished response, for `send` to end the stream with. */
  async finish(done: NonNullable<GenerateChunk["done"]>): Promise<Record<string, unknown>> {
    const status = finishedStatus(done);
    await this.#close(status === "incomplete" ? "incomplete" : "completed");
    return responseObject(this.header, status, this.#output, done);
  }

  /** The stream's last event: `response.completed`, or `response.incomplete` when the token limit cut it. */
  async send(response: Record<string, unknown>): Promise<void> {
    await this.#emit(response.status === "incomplete" ? "response.incomplete" : "response.completed", {
      response,
    });
  }

  /** A failure after the first byte: `response.failed`, with what was written before it. */
  async fail(error: { code: string; message: string }): Promise<void> {
    const response = responseObject(this.header, "failed", this.#output, undefined, error);
    await this.#emit("response.failed", { response });
  }

  async #text(text: string, logprobs: readonly TokenLogprobs[] | undefined): Promise<void> {
    let open = this.#open;
    if (open?.kind !== "message") {
      await this.#close();
      open = { kind: "message", id: newId("msg"), index: this.#output.length, text: "" };
      this.#open = open;
      this.#output.push(messageItem(open.id, "in_progress", []));
      await this.#emit("response.output_item.added", {
        output_index: open.index,
        item: messageItem(open.id, "in_progress", []),
      });
      await this.#emit("response.content_part.added", {
        item_id: open.id,
        output_index: open.index,
        content_index: 0,
        part: outputText("", undefined),
      });
    }
    open.text += text;
    if (logprobs) {
      open.logprobs ??= [];
      open.logprobs.push(...logprobs);
    }
    await this.#emit("response.output_text.delta", {
      item_id: open.id,
      output_index: open.index,
      content_index: 0,
      delta: text,
      logprobs: logprobs ? logprobsWire(logprobs) : [],
    });
  }

  async #toolCall(delta: ToolCallDelta): Promise<void> {
    let open = this.#open;
    if (open?.kind !== "call" || open.callIndex !== delta.index) {
      if (this.#closedCalls.has(delta.index))
        throw new UpstreamError(
          "IG_UPSTREAM_ERROR",
          502,
          `upstream streamed more of function call ${delta.index} after the next had begun`,
        );
      await this.#close();
      const call: ToolCall = { id: delta.id ?? "", name: delta.name ?? "", arguments: "" };
      open = { kind: "call", id: newId("fc"), index: this.#output.length, callIndex: delta.index, call };
      this.#open = open;
      this.#output.push(functionCallItem(open.id, "in_progress", call));
      await this.#emit("response.output_item.added", {
        output_index: open.index,
        item: functionCallItem(open.id, "in_progress", call),
      });
    } else {
      if (delta.id) open.call.id = delta.id;
      if (delta.name) open.call.name += delta.name;
    }
    if (!delta.arguments) return;
    open.call.arguments += delta.arguments;
    await this.#emit("response.function_call_arguments.delta", {
      item_id: open.id,
      output_index: open.index,
      delta: delta.arguments,
    });
  }

  async #close(status: "completed" | "incomplete" = "completed"): Promise<void> {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    if (open.kind === "message") {
      const part = outputText(open.text, open.logprobs);
      await this.#emit("response.output_text.done", {
        item_id: open.id,
        output_index: open.index,
        content_index: 0,
        text: open.text,
        logprobs: part.logprobs,
      });
      await this.#emit("response.content_part.done", {
        item_id: open.id,
        output_index: open.index,
        content_index: 0,
        part,
      });
      const item = messageItem(open.id, status, [part]);
      this.#output[open.index] = item;
      await this.#emit("response.output_item.done", { output_index: open.index, item });
      return;
    }
    this.#closedCalls.add(open.callIndex);
    await this.#emit("response.function_call_arguments.done", {
      item_id: open.id,
      output_index: open.index,
      name: open.call.name,
      arguments: open.call.arguments,
    });
    const item = functionCallItem(open.id, status, open.call);
    this.#output[open.index] = item;
    await this.#emit("response.output_item.done", { output_index: open.index, item });
  }

  #emit(type: string, fields: Record<string, unknown>): Promise<void> | undefined {
    return this.sse.event(type, { type, sequence_number: this.#sequence++, ...fields });
  }
}
