import { Aborter, offAbort, onAbort, type RequestSignal } from "../core/abort.js";
import { RequestAbortedError, UnsupportedTaskError } from "../core/errors.js";
import type {
  ClassifyResult,
  Embeddings,
  EmbedOptions,
  GenerateChunk,
  GenerateRequest,
  TagResult,
} from "../core/types.js";
import { roomInContext } from "./context-room.js";
import { Deadline } from "./deadline.js";
import type { Route, Served } from "./route.js";
import type { Admitted, RoutingInput, ServingModel } from "./serving.js";

/** A generation whose first token (or, when not streamed, whole answer) has arrived. */
interface OpenedGeneration {
  head: GenerateChunk[];
  tail?: AsyncIterator<GenerateChunk>;
}

/** The text a specialist judges a generation by: the prompt, or the last user message. */
function judgedText(request: GenerateRequest): string | undefined {
  if (request.prompt !== undefined) return request.prompt;
  return request.messages?.findLast((message) => message.role === "user")?.content;
}

/** A route serving one request: it plans on first use and keeps the chosen target until released. */
export class RoutedRequest implements Admitted, ServingModel {
  readonly runtime = {};
  #served: Served<unknown> | undefined;

  constructor(
    private readonly route: Route,
    private readonly input: RoutingInput,
  ) {}

  get model(): ServingModel {
    return this;
  }

  get name(): string {
    return this.#served?.admitted.name ?? this.route.name;
  }

  async *generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk> {
    const deadline = new Deadline(signal ?? new Aborter(), this.route.totalTimeoutMs);
    try {
      const opened = await this.#serve(
        judgedText(request),
        deadline.signal,
        (model, attemptSignal) => openGeneration(model, request, attemptSignal),
        request.whole ? readToEnd : async (generation) => generation,
      );
      yield* opened.head;
      if (opened.tail) yield* { [Symbol.asyncIterator]: () => opened.tail as AsyncIterator<GenerateChunk> };
    } catch (error) {
      throw deadline.explain(error);
    } finally {
      deadline.clear();
      this.release();
    }
  }

  embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings> {
    return this.#answer(judgedInput(texts), (model) => model.embed(texts, options));
  }

  classify(texts: readonly string[]): Promise<ClassifyResult[]> {
    return this.#answer(judgedInput(texts), (model) => model.classify(texts));
  }

  tag(texts: readonly string[]): Promise<TagResult[]> {
    return this.#answer(judgedInput(texts), (model) => model.tag(texts));
  }

  tokenize(): readonly number[] {
    throw new UnsupportedTaskError(this.route.name, "tokenize (it is a route over several models)");
  }

  release(): void {
    this.#served?.release();
  }

  async #answer<T>(text: string | undefined, ask: (model: ServingModel) => Promise<T>): Promise<T> {
    const deadline = new Deadline(new Aborter(), this.route.totalTimeoutMs);
    try {
      return await this.#serve(
        text,
        deadline.signal,
        async (model, signal) => abortable(ask(model), signal),
        async (value) => value,
      );
    } catch (error) {
      throw deadline.explain(error);
    } finally {
      deadline.clear();
      this.release();
    }
  }

  async #serve<O, T>(
    text: string | undefined,
    signal: RequestSignal,
    open: (model: ServingModel, signal: RequestSignal) => Promise<O>,
    settle: (opened: O) => Promise<T>,
  ): Promise<T> {
    const plan = await this.route.plan(this.input, text);
    this.input.record.arm = plan.arm;
    const served = await this.route.serve(plan, this.input, signal, open, settle);
    this.#served = served;
    this.input.record.model = served.admitted.name;
    this.input.onServed?.(served.admitted.name);
    return served.value;
  }
}

/**
 * The text a specialist judges an embedding or classification request by: its one input. A batch of several
 * goes to the arm, since its texts may belong to different domains and one request has one target.
 */
function judgedInput(texts: readonly string[]): string | undefined {
  return texts.length === 1 ? texts[0] : undefined;
}

/** Starts a generation, fitted to the target's context, and waits for its first chunk. */
async function openGeneration(
  model: ServingModel,
  request: GenerateRequest,
  signal: RequestSignal,
): Promise<OpenedGeneration> {
  const room = roomInContext(model, request);
  const fitted = room !== undefined && room < request.maxTokens ? { ...request, maxTokens: room } : request;
  const chunks = model.generate(fitted, signal)[Symbol.asyncIterator]();
  const first = await chunks.next();
  return first.done ? { head: [] } : { head: [first.value], tail: chunks };
}

/** Reads an answer the client gets in one piece to its end, so a failure midway can still be retried. */
async function readToEnd(generation: OpenedGeneration): Promise<OpenedGeneration> {
  const head = [...generation.head];
  const tail = generation.tail;
  if (tail) for (let step = await tail.next(); !step.done; step = await tail.next()) head.push(step.value);
  return { head };
}

/** Embedding and classification calls take no signal; a timed-out one is left to finish on its own. */
function abortable<T>(work: Promise<T>, signal: RequestSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new RequestAbortedError());
  return new Promise((resolve, reject) => {
    const abort = () => reject(new RequestAbortedError());
    onAbort(signal, abort);
    work.then(resolve, reject).finally(() => offAbort(signal, abort));
  });
}
