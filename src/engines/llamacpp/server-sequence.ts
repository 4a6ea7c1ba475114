import type { Token } from "node-llama-cpp";
import { UpstreamError } from "../../core/errors.js";
import { SseSplitter } from "../../providers/upstream-http.js";
import type { DecodeSequence, Sampling, Step } from "./decode-sequence.js";
import type { LlamaServerProcess } from "./llama-server-process.js";

/** One streamed event of llama-server's `/completion`, the fields read here. */
interface CompletionEvent {
  tokens?: number[];
  stop?: boolean;
  stop_type?: "none" | "eos" | "limit" | "word";
  completion_probabilities?: {
    id: number;
    prob?: number;
    logprob?: number;
    top_probs?: { id: number; prob: number }[];
    top_logprobs?: { id: number; logprob: number }[];
  }[];
}

/**
 * A slot of a supervised llama-server, as a sequence: the tokens it holds are kept here and sent whole with each
 * generation (llama-server's `/completion` takes token ids). A generation that continues what the slot holds (a
 * tool call after the text before it) reuses the slot's state for that prefix; a fresh one evaluates its whole
 * prompt in one batch, as the in-process sequence does, so greedy output is the same.
 */
export class ServerSequence implements DecodeSequence {
  #tokens: Token[] = [];

  constructor(
    private readonly server: LlamaServerProcess,
    private readonly slot: number,
    /** Reported when llama-server ends on an end-of-generation token, which it does not stream. */
    private readonly endOfGeneration: Token,
  ) {}

  get nextTokenIndex(): number {
    return this.#tokens.length;
  }

  async clearHistory(): Promise<void> {
    this.#tokens = [];
  }

  async eraseFrom(index: number): Promise<void> {
    this.#tokens = this.#tokens.slice(0, index);
  }

  async *generate(
    input: readonly Token[],
    sampling: Sampling,
    limit: number,
    logprobs?: { top: number },
  ): AsyncGenerator<Step, void, undefined> {
    // The engine decodes what llama-server would count differently in process (see `decodesOnlyLocally`).
    if (sampling.penalties) throw new Error("OpenAI's penalties are decoded in process");
    const continues = this.#tokens.length > 0;
    this.#tokens = [...this.#tokens, ...input];
    const response = await this.server.post("/completion", {
      prompt: this.#tokens,
      id_slot: this.slot,
      cache_prompt: continues,
      n_predict: limit,
      stream: true,
      return_tokens: true,
      ...requestSampling(sampling),
      ...(logprobs && {
        n_probs: Math.max(1, logprobs.top),
        // The model's own distribution when greedy, after temperature and top-k/top-p otherwise.
        post_sampling_probs: (sampling.temperature ?? 0) > 0,
      }),
    });
    const events = new SseSplitter();
    let generated = 0;
    // Left early (a stop string, a client gone), the loop's end closes the stream, which frees the slot at once;
    // left once llama-server has sent its last token, the stream is let end, which keeps its connection.
    for await (const bytes of response.body) {
      for (const data of events.feed(bytes)) {
        const event = JSON.parse(data) as CompletionEvent & { error?: { message?: string } };
        if (event.error)
          throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `llama-server: ${event.error.message}`);
        if (event.stop) response.body.endsOnItsOwn();
        for (const [index, id] of (event.tokens ?? []).entries()) {
          const token = id as Token;
          this.#tokens.push(token);
          if (++generated === limit) response.body.endsOnItsOwn();
          yield withProbabilities(token, event.completion_probabilities?.[index], logprobs);
        }
        if (event.stop) {
          if (event.stop_type === "eos") yield { token: this.endOfGeneration };
          return;
        }
      }
    }
  }
}

/** The sampling as llama-server's fields, with node-llama-cpp's defaults where unset (greedy, top-k 40, top-p 0.95). */
function requestSampling(sampling: Sampling): Record<string, unknown> {
  return {
    temperature: sampling.temperature ?? 0,
    top_k: sampling.topK ?? 40,
    top_p: sampling.topP ?? 0.95,
    min_p: 0,
    ...(sampling.seed !== undefined && { seed: sampling.seed }),
    ...(sampling.grammar && { grammar: sampling.grammar.grammar }),
    ...(sampling.logitBias && { logit_bias: [...sampling.logitBias] }),
    ...(sampling.ignoreEos && { ignore_eos: true }),
  };
}

function withProbabilities(
  token: Token,
  probabilities: NonNullable<CompletionEvent["completion_probabilities"]>[number] | undefined,
  logprobs: { top: number } | undefined,
): Step {
  if (!logprobs || !probabilities) return { token };
  const confidence = probabilities.prob ?? Math.exp(probabilities.logprob ?? 0);
  if (logprobs.top === 0) return { token, confidence };
  const top =
    probabilities.top_probs?.map(({ id, prob }) => [id as Token, prob] as const) ??
    probabilities.top_logprobs?.map(({ id, logprob }) => [id as Token, Math.exp(logprob)] as const) ??
    [];
  return { token, confidence, probabilities: new Map(top) };
}
