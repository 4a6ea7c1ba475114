import {
  type LlamaContextSequence,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type LlamaModel,
  type SequenceEvaluateOptions,
  type Token,
  TokenBias,
} from "node-llama-cpp";

/** How each next token is chosen; what is unset is the runtime's default (temperature unset: greedy). */
export interface Sampling {
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  /** OpenAI's `logit_bias`: each value added to its token's logit. */
  logitBias?: ReadonlyMap<Token, number>;
  /** Only what this grammar allows. */
  grammar?: LlamaGrammar;
  /** OpenAI's presence and frequency penalties, over the tokens this generation wrote. */
  penalties?: { presence: number; frequency: number };
  /**
   * End-of-generation tokens do not end the generation: in this process they are generated and passed on like any
   * other (every generation passes them on, for its caller to judge); llama-server never samples them.
   */
  ignoreEos?: boolean;
}

/** A generated token; with logprobs asked for, how likely it was and (for `top` > 0) its likeliest alternatives. */
export interface Step {
  token: Token;
  confidence?: number;
  /** The distribution the token was drawn from, likeliest first. */
  probabilities?: ReadonlyMap<Token, number>;
}

/**
 * One sequence of a model's context: the tokens it holds, and the generation that continues them. The engine's
 * generation loop, its stop strings and tool calls run on this, wherever the decode itself runs (in this process,
 * or in a supervised llama-server).
 */
export interface DecodeSequence {
  /** Tokens the sequence holds. */
  readonly nextTokenIndex: number;
  clearHistory(): Promise<void>;
  /** Forgets the tokens from `index` on. */
  eraseFrom(index: number): Promise<void>;
  /**
   * Evaluates `input` after what the sequence holds, then generates up to `limit` tokens (end-of-generation tokens
   * included, for the caller to judge); leaving the iteration early stops it.
   */
  generate(
    input: readonly Token[],
    sampling: Sampling,
    limit: number,
    logprobs?: { top: number },
  ): AsyncGenerator<Step, void, undefined>;
  /** The in-process sequence, where there is one (scoring and prompt logprobs evaluate on it directly). */
  readonly local?: LlamaContextSequence;
}

/** A sequence of node-llama-cpp's context in this process. */
export class InProcessSequence implements DecodeSequence {
  constructor(
    readonly local: LlamaContextSequence,
    private readonly model: LlamaModel,
  ) {}

  get nextTokenIndex(): number {
    return this.local.nextTokenIndex;
  }

  clearHistory(): Promise<void> {
    return this.local.clearHistory();
  }

  eraseFrom(index: number): Promise<void> {
    return this.local.eraseContextTokenRanges([{ start: index, end: this.local.nextTokenIndex }]);
  }

  async *generate(
    input: readonly Token[],
    sampling: Sampling,
    limit: number,
    logprobs?: { top: number },
  ): AsyncGenerator<Step, void, undefined> {
    const generated: Token[] = [];
    const options = this.#options(sampling, generated, limit);
    const steps = logprobs
      ? this.local.evaluateWithMetadata(
          input as Token[],
          { confidence: true, probabilities: logprobs.top > 0 },
          options,
        )
      : this.local.evaluate(input as Token[], options);
    for await (const step of steps) {
      const token = typeof step === "number" ? step : step.token;
      generated.push(token);
      yield typeof step === "number" ? { token } : step;
      if (generated.length >= limit) return;
    }
  }

  #options(sampling: Sampling, generated: Token[], limit: number): SequenceEvaluateOptions {
    const { logitBias, grammar, penalties } = sampling;
    let tokenBias: TokenBias | undefined;
    if (logitBias) {
      tokenBias = new TokenBias(this.model.tokenizer);
      for (const [token, logit] of logitBias) tokenBias.set(token, { logit });
    }
    return {
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      seed: sampling.seed,
      yieldEogToken: true,
      ...(tokenBias && { tokenBias }),
      ...(grammar && {
        grammarEvaluationState: new LlamaGrammarEvaluationState({ model: this.model, grammar }),
      }),
      ...(penalties && {
        // llama.cpp's repeat penalty itself off.
        repeatPenalty: {
          punishTokens: () => generated,
          maxPunishTokens: limit,
          penalty: 1,
          presencePenalty: penalties.presence,
          frequencyPenalty: penalties.frequency,
        },
      }),
    };
  }
}
