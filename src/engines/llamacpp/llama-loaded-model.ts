import type {
  ControlledEvaluateInputItem,
  Llama,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  Token,
} from "node-llama-cpp";
import type { LlamaCppModelSpec } from "../../config/load-config.js";
import type { RequestSignal } from "../../core/abort.js";
import { completionInput } from "../../core/chat-template.js";
import {
  InvalidRequestError,
  PromptTooLongError,
  RequestAbortedError,
  UnsupportedTaskError,
} from "../../core/errors.js";
import { parallelChoices } from "../../core/parallel-choices.js";
import { StopStrings } from "../../core/stop-strings.js";
import { toolCallDeltas } from "../../core/tool-calls.js";
import type {
  ClassifyResult,
  ContinuationScores,
  Embeddings,
  EmbedOptions,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
  ServingProcess,
  TagResult,
  TokenLogprobs,
  ToolDefinition,
} from "../../core/types.js";
import { validateGenerateRequest } from "../../core/validate-generate-request.js";
import { type ModelRef, modelLabel } from "../../models/model-registry.js";
import type { LoadedModel } from "../engine.js";
import { ownDimensionsOnly } from "../native-dimensions.js";
import type { CallSyntax, ChatPrompter } from "./chat-prompt.js";
import type { DecodeSequence, Sampling, Step } from "./decode-sequence.js";
import { refuseUnenforceable, unenforceableKeyword } from "./grammar-schema.js";
import { JsonValueEnd } from "./json-value-end.js";
import { refuseUnhonoured } from "./local-request-support.js";
import { ResourcePool } from "./resource-pool.js";
import { type DecodedCall, decodeToolCall } from "./tool-call-decoder.js";

/** Grammars compiled from JSON Schemas, kept per schema text; a model sees few distinct schemas. */
const MAX_CACHED_GRAMMARS = 32;

/** The most bytes a UTF-8 character takes: byte-fallback tokens are waited on no longer for a character. */
const UTF8_MAX_BYTES = 4;

/** The model's own next-token distribution: no temperature, top-k, top-p or min-p reshaping it. */
const MODEL_DISTRIBUTION = { temperature: 1, topK: 0, topP: 1, minP: 0 };

/**
 * Where a model's tokens are decoded: its context's sequences, in this process or in a supervised llama-server.
 */
export interface Decoding {
  sequences: readonly DecodeSequence[];
  /** Tokens each sequence holds at most (prompt + completion). */
  contextSize: number;
  threads: number;
  /**
   * Where the sequences decode in another process: the in-process model that does what they cannot (prompt
   * logprobs, continuation scores, perplexity, embeddings, OpenAI's penalties), loaded on first need.
   */
  local?: () => Promise<LoadedModel>;
  /** The process the sequences decode in, where it is one of its own. */
  process?: Readonly<ServingProcess> & { residentBytes(): Promise<number> };
  /** Frees the context (or stops the process) the sequences belong to. */
  close(): Promise<void>;
}

/**
 * A GGUF model with one context of `parallel` sequences. Concurrent requests each take a free sequence and
 * llama.cpp decodes all active sequences in shared batches (continuous batching); a request that finds none
 * free waits for one.
 */
export class LlamaLoadedModel implements LoadedModel {
  readonly #pool: ResourcePool<DecodeSequence>;
  #embeddingContext: Promise<LlamaEmbeddingContext> | undefined;
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(
    readonly ref: ModelRef & { spec: LlamaCppModelSpec },
    readonly runtime: Readonly<Record<string, string | number | boolean>>,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly decoding: Decoding,
    private readonly stateBytes: number,
    private readonly prompter: ChatPrompter,
  ) {
    this.#pool = new ResourcePool(decoding.sequences);
  }

  tokenize(text: string): Token[] {
    const tokens = this.model.tokenize(text);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  countPromptTokens(request: GenerateRequest): number {
    return this.#promptOf(request).prompt.length;
  }

  async *generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk> {
    if (this.decoding.local && decodesOnlyLocally(request)) {
      yield* (await this.decoding.local()).generate(request, signal);
      return;
    }
    const n = request.n ?? 1;
    if (n === 1) {
      yield* this.#generate(request, signal);
      return;
    }
    if (n > this.decoding.sequences.length)
      throw new InvalidRequestError(
        `model '${modelLabel(this.ref)}' generates choices on its parallel sequences, ${this.decoding.sequences.length} of them; n must be at most that`,
        "n",
      );
    // Each choice on a sequence of its own; a seed, if set, gives each choice its own (seed + choice).
    yield* parallelChoices(
      Array.from({ length: n }, (_, choice) =>
        this.#generate(
          {
            ...request,
            n: 1,
            ...(request.seed !== undefined && { seed: (request.seed + choice) >>> 0 }),
          },
          signal,
        ),
      ),
    );
  }

  async *#generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk> {
    validateGenerateRequest(request);
    refuseUnhonoured(request, modelLabel(this.ref));
    const { prompt, stop, calls } = this.#promptOf(request);
    const chosen = chosenTool(request);
    // A strict function's schema is checked before anything is written, as response_format's is.
    for (const [index, tool] of (calls ? (request.tools ?? []) : []).entries())
      if (tool.strict === true && tool.parameters)
        refuseUnenforceable(tool.parameters, `tools[${index}].function.parameters`);
    if (prompt.length + request.maxTokens > this.decoding.contextSize) {
      throw new PromptTooLongError(prompt.length, request.maxTokens, this.decoding.contextSize);
    }
    const grammar = request.jsonSchema
      ? await this.#grammarFor(request.jsonSchema)
      : request.jsonObject
        ? await this.llama.getGrammarFor("json")
        : undefined;
    const logitBias = request.logitBias ? this.#logitBias(request.logitBias) : undefined;
    const sampling: Sampling = {
      temperature: request.temperature,
      topP: request.topP,
      topK: request.topK,
      seed: request.seed,
      ...(logitBias && { logitBias }),
    };
    const topLogprobs = request.topLogprobs;
    const sequence = await this.#pool.acquire(signal);
    try {
      // The whole prompt goes in as one batch, as the reference implementation computes it; splitting it (as
      // prefix reuse would) changes the floating-point sums enough to flip near-tied greedy choices.
      await sequence.clearHistory();
      // Echoed with logprobs, the prompt is scored first, all but its last token, which generation evaluates.
      let input = prompt;
      if (request.echo) {
        const echo: GenerateChunk = {
          // A prompt of token ids is echoed as the text they stand for (BOS spells nothing).
          text:
            request.prompt ??
            this.model.detokenize(prompt[0] === this.model.tokens.bos ? prompt.slice(1) : prompt),
          tokenIds: [],
          at: performance.now(),
          echo: true,
        };
        if (topLogprobs !== undefined) {
          echo.logprobs = await this.#promptLogprobs(localOf(sequence), prompt, topLogprobs);
          input = prompt.slice(-1);
        }
        yield echo;
      }
      const forced = calls && (request.toolChoice === "required" || chosen !== undefined);
      if (forced) {
        yield* this.#callChunks(
          await this.#decodeCall(sequence, input, calls, chosen, request, signal, 0, sampling),
          prompt.length,
          0,
        );
        return;
      }
      // Offered tools, the model may call one: the text that starts a call ends the free text, and the call is
      // decoded from there under its grammars.
      const triggers = new Set(calls?.triggers ?? []);
      const jsonEnd = grammar ? new JsonValueEnd() : undefined;
      const stops = new StopStrings([...stop, ...triggers]);
      let written = "";
      const generated: Token[] = [];
      let unsent: Token[] = [];
      let undecoded: Token[] = [];
      // With logprobs asked for: one entry per token in `unsent`.
      let unsentLogprobs: TokenLogprobs[] | undefined = topLogprobs === undefined ? undefined : [];
      let finishReason: FinishReason = "length";
      let stoppedByString = false;
      // The undecoded tokens' text; the tokens before them decide whether a leading "▁" becomes a space.
      const undecodedText = () => {
        const decodedUpTo = generated.length - undecoded.length;
        const before =
          decodedUpTo > 0 ? generated.slice(Math.max(0, decodedUpTo - 4), decodedUpTo) : prompt.slice(-4);
        return this.model.detokenize(undecoded, false, before);
      };
      // Decoded text through the JSON end (JSON ends with its value, not with the whitespace the grammar allows
      // after it) and the stop strings: what may go out now.
      const passed = (piece: string) => {
        const kept = piece && jsonEnd ? jsonEnd.push(piece) : undefined;
        return stops.push(kept === undefined ? piece : piece.slice(0, kept));
      };
      const steps = sequence.generate(
        input,
        {
          ...sampling,
          ...(grammar && { grammar }),
          ...(request.ignoreEos && { ignoreEos: true }),
          ...((request.presencePenalty !== undefined || request.frequencyPenalty !== undefined) && {
            penalties: { presence: request.presencePenalty ?? 0, frequency: request.frequencyPenalty ?? 0 },
          }),
        },
        request.maxTokens,
        topLogprobs === undefined ? undefined : { top: topLogprobs },
      );
      // The next token is asked for before this one is handed on, once it is known that generation goes on, so
      // llama.cpp decodes it while the token's text travels to the client (SSE, the socket) on this thread.
      let next: Promise<IteratorResult<Step>> | undefined = steps.next();
      try {
        while (next) {
          const result = await next;
          next = undefined;
          if (result.done) break;
          if (signal?.aborted) throw new RequestAbortedError();
          const { value: step } = result;
          const { token } = step;
          if (this.model.isEogToken(token) && request.ignoreEos !== true) {
            finishReason = "stop";
            break;
          }
          generated.push(token);
          unsent.push(token);
          undecoded.push(token);
          if (unsentLogprobs) {
            const before = generated.length > 1 ? generated.slice(-5, -1) : prompt.slice(-4);
            unsentLogprobs.push(this.#logprobsOf(token, step, topLogprobs ?? 0, before));
          }
          const decoded = undecodedText();
          // A byte-fallback token can end mid-character: the rest is waited for, up to a character's bytes and no
          // later than the last token; bytes that make no character then go out as they are, a U+FFFD each.
          const complete =
            !decoded.endsWith("\uFFFD") ||
            undecoded.length >= UTF8_MAX_BYTES ||
            generated.length >= request.maxTokens;
          if (complete) undecoded = [];
          const { text, stopped, stop: stoppedBy } = passed(complete ? decoded : "");
          if (stopped) {
            stoppedByString = true;
            finishReason = "stop";
            if (text) yield this.#chunk(text, unsent, unsentLogprobs);
            unsent = [];
            if (calls && stoppedBy !== undefined && triggers.has(stoppedBy)) {
              // What was written before the call goes in again as text; the call follows it.
              await sequence.eraseFrom(prompt.length);
              const before = this.model.tokenize(written + text, false);
              yield* this.#callChunks(
                await this.#decodeCall(
                  sequence,
                  before,
                  calls,
                  undefined,
                  request,
                  signal,
                  generated.length,
                  sampling,
                ),
                prompt.length,
                generated.length,
              );
              return;
            }
            break;
          }
          written += text;
          const ended = jsonEnd?.ended === true || generated.length >= request.maxTokens;
          if (!ended) next = steps.next();
          if (text) {
            yield this.#chunk(text, unsent, unsentLogprobs);
            unsent = [];
            if (unsentLogprobs) unsentLogprobs = [];
          }
          if (jsonEnd?.ended) finishReason = "stop";
          if (ended) break;
        }
      } finally {
        // Left early (an abort, a client gone) with a token still being decoded: it is let finish, its result
        // unread — nobody is left to receive it, and any error it meets is this generation's end, not news.
        if (next) await next.catch(() => undefined);
        await steps.return?.();
      }
      if (signal?.aborted) throw new RequestAbortedError();
      // Unless a stop string ended the answer, what is still held goes out: bytes waiting for the rest of a
      // character when the end-of-generation token came, then text held back as a possible stop string.
      let held = "";
      if (!stoppedByString) {
        const rest = undecoded.length > 0 && jsonEnd?.ended !== true ? passed(undecodedText()) : undefined;
        if (rest?.stopped) finishReason = "stop";
        held = (rest?.text ?? "") + (rest?.stopped ? "" : stops.flush());
      }
      const last = this.#chunk(held, unsent, undefined);
      // Tokens held back (a possible stop string that never completed) are returned now, with their logprobs.
      if (unsentLogprobs && unsent.length > 0 && last.text) last.logprobs = unsentLogprobs;
      last.done = {
        usage: { promptTokens: prompt.length, completionTokens: generated.length },
        finishReason,
      };
      yield last;
    } finally {
      this.#pool.release(sequence);
    }
  }

  /** A function call, decoded under grammars in the model's own call syntax (see tool-call-decoder.ts). */
  #decodeCall(
    sequence: DecodeSequence,
    input: Token[],
    syntax: CallSyntax,
    chosen: ToolDefinition | undefined,
    request: GenerateRequest,
    signal: RequestSignal | undefined,
    used: number,
    sampling: Sampling,
  ): Promise<DecodedCall> {
    return decodeToolCall({
      sequence,
      model: this.model,
      input,
      syntax,
      tools: request.tools ?? [],
      chosen,
      sampling,
      maxTokens: request.maxTokens - used,
      grammars: {
        names: (tools) => this.#namesGrammar(tools),
        parameters: (tool) =>
          this.#parametersGrammar(tool, `tools[${request.tools?.indexOf(tool) ?? 0}].function.parameters`),
      },
      signal,
    });
  }

  /** The call as the stream's last two chunks: the call, then the end (`tool_calls`, or `length` if cut short). */
  *#callChunks(decoded: DecodedCall, promptTokens: number, before: number): Iterable<GenerateChunk> {
    yield { text: "", tokenIds: [], at: performance.now(), toolCalls: toolCallDeltas([decoded.call]) };
    yield {
      text: "",
      tokenIds: [],
      at: performance.now(),
      done: {
        usage: { promptTokens, completionTokens: before + decoded.tokens },
        finishReason: decoded.complete ? "tool_calls" : "length",
      },
    };
  }

  /**
   * OpenAI's `logit_bias` as llama.cpp's: each value added to its token's logit (-100 all but bans it, 100 all but
   * forces it). A token id outside the vocabulary, or an end-of-generation token (which llama.cpp's sampler here
   * leaves unbiased), is refused rather than ignored.
   */
  #logitBias(logitBias: Readonly<Record<string, number>>): Map<Token, number> {
    const vocabulary = this.#vocabularySize;
    const bias = new Map<Token, number>();
    for (const [id, value] of Object.entries(logitBias)) {
      const token = Number(id) as Token;
      if (!(Number.isInteger(token) && token >= 0 && token < vocabulary))
        throw new InvalidRequestError(
          `logit_bias: token ${id} is not in model '${modelLabel(this.ref)}''s vocabulary (0-${vocabulary - 1})`,
          "logit_bias",
        );
      if (this.model.isEogToken(token))
        throw new InvalidRequestError(
          `logit_bias: token ${id} ends generation, and a local model's end-of-generation tokens cannot be biased`,
          "logit_bias",
        );
      bias.set(token, value);
    }
    return bias;
  }

  /** One of the offered function names, exactly. */
  #namesGrammar(tools: readonly ToolDefinition[]): Promise<LlamaGrammar> {
    const names = tools.map((tool) => JSON.stringify(tool.name)).join(" | ");
    return this.#cachedGrammar(`names:${names}`, () =>
      this.llama.createGrammar({ grammar: `root ::= ${names}` }),
    );
  }

  /** A streamed chunk; its tokens' log-probabilities go with it when they were asked for. */
  #chunk(text: string, tokenIds: Token[], logprobs: TokenLogprobs[] | undefined): GenerateChunk {
    const chunk: GenerateChunk = { text, tokenIds, at: performance.now() };
    if (logprobs) chunk.logprobs = logprobs;
    return chunk;
  }

  /**
   * The prompt's own tokens (BOS left out) with their log-probabilities under the model's own distribution, each
   * given the tokens before it; the first has none when no BOS precedes it. The sequence is left holding every
   * prompt token but the last.
   */
  async #promptLogprobs(
    sequence: LlamaContextSequence,
    prompt: Token[],
    top: number,
  ): Promise<TokenLogprobs[]> {
    const next = { generateNext: { probabilities: true, options: MODEL_DISTRIBUTION } };
    const steps = await sequence.controlledEvaluate(
      prompt.slice(0, -1).map((token): ControlledEvaluateInputItem => [token, next]),
    );
    const first = prompt[0] === this.model.tokens.bos ? 1 : 0;
    return prompt.slice(first).map((token, offset) => {
      const at = first + offset;
      const text = (id: Token) =>
        this.model.detokenize([id], false, prompt.slice(Math.max(first, at - 4), at));
      const distribution = at > 0 ? steps[at - 1]?.next.probabilities : undefined;
      if (!distribution) return { token: text(token), logprob: null, top: [] };
      return {
        token: text(token),
        logprob: Math.log(distribution.get(token) || Number.MIN_VALUE),
        top: likeliest(distribution, top, text),
      };
    });
  }

  /**
   * A generated token's log-probability and its position's likeliest alternatives, from the distribution it was
   * drawn from: the model's own when greedy, after temperature and top-k/top-p otherwise (as llama.cpp's server
   * reports post-sampling probabilities).
   */
  #logprobsOf(token: Token, step: Step, top: number, before: Token[]): TokenLogprobs {
    // Each token's text after the tokens before it, which decide whether a leading "▁" is a space.
    const text = (id: Token) => this.model.detokenize([id], false, before);
    return {
      token: text(token),
      logprob: Math.log(step.confidence ?? 1),
      top: step.probabilities ? likeliest(step.probabilities, top, text) : [],
    };
  }

  /**
   * The tokens a request is prompted with, and its stop strings: a completion's prompt (BOS added where the model
   * wants it), or a chat rendered by the model's chat template, else the transcript (whose stop ends a turn).
   */
  #promptOf(request: GenerateRequest): {
    prompt: Token[];
    stop: readonly string[];
    calls?: CallSyntax;
  } {
    const asked = request.stop ?? [];
    const offered = request.tools && request.toolChoice !== "none" ? request.tools : undefined;
    if (request.messages !== undefined && this.prompter.render) {
      const rendered = this.prompter.render(request.messages, offered);
      const prompt = { prompt: rendered.tokens, stop: [...asked, ...rendered.stop] };
      return rendered.calls ? { ...prompt, calls: rendered.calls } : prompt;
    }
    if (offered || request.messages?.some((message) => message.toolCalls))
      throw new InvalidRequestError(
        `model '${modelLabel(this.ref)}' has no chat template, so no syntax to call functions in; give it one (chat_template) or serve tools through a model that has one`,
        "tools",
      );
    if (request.promptTokens) return { prompt: this.#ownTokens(request.promptTokens), stop: asked };
    const input = completionInput(request);
    return { prompt: this.tokenize(input.prompt), stop: input.stop };
  }

  /** Tokens in this model's vocabulary: every id is below it. */
  get #vocabularySize(): number {
    return this.model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  }

  /** A prompt of token ids, each checked against this model's vocabulary; taken as given, BOS not added. */
  #ownTokens(ids: readonly number[]): Token[] {
    const vocabulary = this.#vocabularySize;
    const outside = ids.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < vocabulary));
    if (outside >= 0)
      throw new InvalidRequestError(
        `prompt[${outside}]: token ${ids[outside]} is not in model '${modelLabel(this.ref)}''s vocabulary (0-${vocabulary - 1})`,
        "prompt",
      );
    return ids as Token[];
  }

  /**
   * A function's arguments as a grammar: its schema's, when the schema can be enforced; a strict function's
   * schema must be, while a non-strict one (whose schema OpenAI does not enforce either) gets any JSON object.
   */
  #parametersGrammar(tool: ToolDefinition, param: string): Promise<LlamaGrammar> {
    if (!tool.parameters || (tool.strict !== true && unenforceableKeyword(tool.parameters)))
      return this.llama.getGrammarFor("json");
    return this.#grammarFor(tool.parameters, param);
  }

  /** The JSON Schema as a GBNF grammar; a schema llama.cpp's converter cannot take is the client's error. */
  #grammarFor(schema: Readonly<Record<string, unknown>>, param = "response_format"): Promise<LlamaGrammar> {
    // Checked once per schema, when it is compiled: a refused schema is never cached, so it is checked again.
    return this.#cachedGrammar(JSON.stringify(schema), () => {
      refuseUnenforceable(schema, param);
      // The schema's type is the converter's to check at run time: it comes from a client or a dataset.
      return this.llama.createGrammarForJsonSchema(schema as never).catch((error: unknown) => {
        throw new InvalidRequestError(
          `${param}: unsupported JSON schema: ${(error as Error).message}`,
          param,
        );
      });
    });
  }

  /** A compiled grammar, kept by key; a failed compilation is not kept. */
  #cachedGrammar(key: string, compile: () => Promise<LlamaGrammar>): Promise<LlamaGrammar> {
    let grammar = this.#grammars.get(key);
    if (!grammar) {
      grammar = compile().catch((error: unknown) => {
        this.#grammars.delete(key);
        throw error;
      });
      if (this.#grammars.size >= MAX_CACHED_GRAMMARS)
        this.#grammars.delete(this.#grammars.keys().next().value as string);
      this.#grammars.set(key, grammar);
    }
    return grammar;
  }

  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings> {
    if (this.decoding.local) return (await this.decoding.local()).embed(texts, options);
    this.#embeddingContext ??= this.model.createEmbeddingContext({
      contextSize: Math.min(this.ref.spec.context_size, this.model.trainContextSize),
      threads: this.decoding.threads,
    });
    const context = await this.#embeddingContext;
    const vectors: Float32Array[] = [];
    let promptTokens = 0;
    for (const text of texts) {
      const tokens = this.tokenize(text);
      promptTokens += tokens.length;
      const embedding = await context.getEmbeddingFor(tokens);
      vectors.push(Float32Array.from(embedding.vector));
    }
    return ownDimensionsOnly({ vectors, promptTokens }, options, modelLabel(this.ref));
  }

  async scoreContinuations(
    prompt: string,
    continuations: readonly string[],
    signal?: RequestSignal,
  ): Promise<ContinuationScores> {
    if (this.decoding.local)
      return (await this.decoding.local()).scoreContinuations(prompt, continuations, signal);
    const context = this.tokenize(prompt);
    // lm-evaluation-harness's split: the continuation is what tokenize(prompt + continuation) adds after the
    // prompt's own tokens, so a label that merges with the prompt's last characters is still scored whole.
    const tails = continuations.map((continuation) =>
      this.tokenize(prompt + continuation).slice(context.length),
    );
    const empty = tails.findIndex((tail) => tail.length === 0);
    if (empty >= 0)
      throw new InvalidRequestError(
        `continuation ${JSON.stringify(continuations[empty])} adds no tokens`,
        "labels",
      );
    const longest = Math.max(...tails.map((tail) => tail.length));
    if (context.length + longest > this.decoding.contextSize)
      throw new PromptTooLongError(context.length, longest, this.decoding.contextSize);
    const acquired = await this.#pool.acquire(signal);
    try {
      const sequence = localOf(acquired);
      await sequence.clearHistory();
      // llama.cpp's own count of the tokens it decoded (those with logits are metered as "output").
      const decoded = () => sequence.tokenMeter.usedInputTokens + sequence.tokenMeter.usedOutputTokens;
      const before = decoded();
      const next = { generateNext: { probabilities: true, options: MODEL_DISTRIBUTION } };
      // The prompt in one batch, as `generate` evaluates it; only its last step's distribution is needed.
      const promptSteps = await sequence.controlledEvaluate(
        context.map(
          (token, i): ControlledEvaluateInputItem => (i === context.length - 1 ? [token, next] : token),
        ),
      );
      const afterPrompt = promptSteps.at(-1)?.next.probabilities;
      const promptEnd = sequence.nextTokenIndex;
      const logprobs: number[] = [];
      for (const tail of tails) {
        if (signal?.aborted) throw new RequestAbortedError();
        let logprob = Math.log(afterPrompt?.get(tail[0] as Token) || Number.MIN_VALUE);
        if (tail.length > 1) {
          const steps = await sequence.controlledEvaluate(
            tail.slice(0, -1).map((token): ControlledEvaluateInputItem => [token, next]),
          );
          steps.forEach((step, i) => {
            logprob += Math.log(step?.next.probabilities?.get(tail[i + 1] as Token) || Number.MIN_VALUE);
          });
          // Back to the prompt's state for the next continuation.
          await sequence.eraseContextTokenRanges([{ start: promptEnd, end: sequence.nextTokenIndex }]);
        }
        logprobs.push(logprob);
      }
      return {
        logprobs,
        tokens: tails.map((tail) => tail.length),
        promptTokens: context.length,
        evaluatedTokens: decoded() - before,
      };
    } finally {
      this.#pool.release(acquired);
    }
  }

  async perplexity(documents: readonly string[], maxTokens: number): Promise<Perplexity> {
    if (this.decoding.local) return (await this.decoding.local()).perplexity(documents, maxTokens);
    if (!Number.isInteger(maxTokens) || maxTokens < 2 || maxTokens > this.decoding.contextSize) {
      throw new InvalidRequestError(
        `perplexity needs 2 to ${this.decoding.contextSize} tokens per document`,
        "max_tokens",
      );
    }
    const acquired = await this.#pool.acquire();
    try {
      const sequence = localOf(acquired);
      let negativeLogLikelihood = 0;
      let tokens = 0;
      for (const document of documents) {
        const ids = this.tokenize(document).slice(0, maxTokens);
        if (ids.length < 2) continue;
        await sequence.clearHistory();
        const steps = await sequence.controlledEvaluate(
          ids
            .slice(0, -1)
            .map(
              (token): ControlledEvaluateInputItem => [
                token,
                { generateNext: { probabilities: true, options: MODEL_DISTRIBUTION } },
              ],
            ),
        );
        steps.forEach((step, i) => {
          const probability = step?.next?.probabilities?.get(ids[i + 1] as Token);
          negativeLogLikelihood -= Math.log(probability || Number.MIN_VALUE);
          tokens++;
        });
      }
      if (tokens === 0) throw new InvalidRequestError("no document has two tokens to score", "documents");
      return { perplexity: Math.exp(negativeLogLikelihood / tokens), tokens };
    } finally {
      this.#pool.release(acquired);
    }
  }

  classify(): Promise<ClassifyResult[]> {
    return Promise.reject(new UnsupportedTaskError(this.ref.spec.id, "classify"));
  }

  tag(): Promise<TagResult[]> {
    return Promise.reject(
      new UnsupportedTaskError(
        this.ref.spec.id,
        "tag (a language model extracts entities when prompted: compare and bench on an entity workload)",
      ),
    );
  }

  async memory(): Promise<MemoryReport> {
    const vram = await this.llama.getVramState();
    const report: MemoryReport = {
      weightsBytes: this.model.size,
      stateBytes: this.stateBytes,
      vramBytes: vram.used,
    };
    const { process } = this.decoding;
    if (process) report.processBytes = await process.residentBytes();
    return report;
  }

  servingProcess(): ServingProcess | undefined {
    const { process } = this.decoding;
    return process && { up: process.up, restarts: process.restarts };
  }

  async close(): Promise<void> {
    if (this.#embeddingContext) await (await this.#embeddingContext).dispose();
    await this.decoding.close();
    await this.model.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The `count` likeliest tokens of a distribution (llama.cpp lists it likeliest first), as text. */
function likeliest(
  distribution: ReadonlyMap<Token, number>,
  count: number,
  text: (id: Token) => string,
): TokenLogprobs["top"] {
  const alternatives: TokenLogprobs["top"] = [];
  for (const [alternative, probability] of distribution) {
    if (alternatives.length >= count) break;
    alternatives.push({ token: text(alternative), logprob: Math.log(probability) });
  }
  return alternatives;
}

/**
 * What only an in-process sequence does as this engine defines it: the prompt's own logprobs, and OpenAI's
 * penalties over the generated tokens alone (llama-server's count the prompt's too).
 */
function decodesOnlyLocally(request: GenerateRequest): boolean {
  return (
    (request.echo === true && request.topLogprobs !== undefined) ||
    request.presencePenalty !== undefined ||
    request.frequencyPenalty !== undefined
  );
}

/** The in-process sequence under `sequence`; only a model that decodes in this process gets here. */
function localOf(sequence: DecodeSequence): LlamaContextSequence {
  if (!sequence.local) throw new Error("an in-process sequence was expected");
  return sequence.local;
}

/** The function `tool_choice` names, which must be among the offered tools. */
function chosenTool(request: GenerateRequest): ToolDefinition | undefined {
  const choice = request.toolChoice;
  if (typeof choice !== "object") return undefined;
  const tool = request.tools?.find((offered) => offered.name === choice.name);
  if (!tool)
    throw new InvalidRequestError(
      `tool_choice names '${choice.name}', which is not among the tools`,
      "tool_choice",
    );
  return tool;
}
