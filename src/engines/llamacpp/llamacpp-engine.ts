import { readFile } from "node:fs/promises";
import { setTimeout } from "node:timers/promises";
import type { CustomBatchingPrioritizationStrategy, Llama, LlamaModel } from "node-llama-cpp";
import type { LlamaCppModelSpec } from "../../config/load-config.js";
import { ModelLoadError } from "../../core/errors.js";
import type { Engine, LoadOptions } from "../engine.js";
import { type ChatPrompter, chatPrompterFor } from "./chat-prompt.js";
import { checkGgufFile } from "./check-gguf-file.js";
import { LlamaLoadedModel } from "./llama-loaded-model.js";
import { calibrateThreads } from "./thread-calibration.js";

export interface LlamaCppEngine extends Engine<LlamaCppModelSpec>, AsyncDisposable {}

/**
 * llama.cpp through node-llama-cpp. One native runtime per engine, created on first load; prebuilt binaries
 * only (`build: "never"`), so nothing is compiled or downloaded at run time.
 */
export function createLlamaCppEngine(): LlamaCppEngine {
  let llama: Promise<Llama> | undefined;
  // llama.cpp says why a load failed only in its log; keep the error lines for the thrown error.
  let nativeErrors: string[] = [];

  // Imported on first load, so commands and processes that never run a GGUF model never pay for llama.cpp.
  const runtime = () =>
    (llama ??= import("node-llama-cpp").then(({ getLlama, LlamaContext, LlamaLogLevel }) => {
      warnIfUnpatched(LlamaContext);
      return getLlama({
        gpu: "auto",
        build: "never",
        progressLogs: false,
        // 0: our per-context thread count is used as is, not capped by a shared budget.
        maxThreads: 0,
        logLevel: LlamaLogLevel.error,
        logger: (level, message) => {
          if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal)
            nativeErrors.push(message.trim());
          if (process.env.INFERGATE_DEBUG) process.stderr.write(`[llama.cpp] ${message}\n`);
        },
      });
    }));

  return {
    async load(ref, options: LoadOptions = {}) {
      const llamaInstance = await runtime();
      const started = performance.now();
      let model: LlamaModel;
      try {
        nativeErrors = [];
        await checkGgufFile(ref.source, llamaInstance);
        model = await llamaInstance.loadModel({ modelPath: ref.source });
      } catch (error) {
        // llama.cpp's log lines reach us through the event loop, possibly after the rejection.
        await setTimeout(20);
        throw new ModelLoadError(ref.source, loadFailureReason(error, nativeErrors), { cause: error });
      }
      try {
        const loadMs = performance.now() - started;
        const { spec } = ref;
        const calibration =
          options.threads === undefined && spec.threads === "auto"
            ? await calibrateThreads(model, ref.source, llamaInstance.cpuMathCores)
            : undefined;
        const threads =
          options.threads ?? (spec.threads === "auto" ? calibration?.threads : spec.threads) ?? 1;
        const context = await model.createContext({
          contextSize: spec.context_size,
          sequences: spec.parallel,
          threads,
          flashAttention: spec.flash_attention,
          ...(spec.batch_invariant && { batching: { itemPrioritizationStrategy: oneSequencePerBatch } }),
        });
        const state = await model.fileInsights.estimateContextResourceRequirements({
          contextSize: context.contextSize,
          sequences: spec.parallel,
          modelGpuLayers: model.gpuLayers,
          includeGraphOverhead: false,
        });
        const prompter = await chatPrompter(model, spec.chat_template);
        return new LlamaLoadedModel(
          ref,
          {
            engine: "llamacpp",
            gpu: llamaInstance.gpu === false ? "none" : llamaInstance.gpu,
            threads,
            threads_source: options.threads !== undefined ? "option" : calibration ? "calibrated" : "config",
            ...(calibration && {
              calibration_ms: calibration.tookMs,
              calibration_cached: calibration.cached,
            }),
            context_size: context.contextSize,
            parallel: spec.parallel,
            batch_invariant: spec.batch_invariant,
            flash_attention: String(context.flashAttention),
            load_ms: Math.round(loadMs),
            chat_template: prompter.name,
          },
          llamaInstance,
          model,
          context,
          state.cpuRam + state.gpuVram,
          prompter,
        );
      } catch (error) {
        await model.dispose();
        throw error;
      }
    },

    async [Symbol.asyncDispose]() {
      if (llama) await (await llama).dispose();
      llama = undefined;
    },
  };
}

/**
 * `npm install` applies patches/node-llama-cpp+3.21.1.patch (patch-package, postinstall); installed with
 * `--ignore-scripts` it is missing, and a request that arrives while others decode waits for all of them to end.
 */
function warnIfUnpatched(context: { prototype: object }): void {
  const dispatch = (context.prototype as { dispatchPendingBatch?: () => void }).dispatchPendingBatch;
  if (String(dispatch).includes("One batch per hold of the context lock")) return;
  process.emitWarning(
    "node-llama-cpp is not patched: new requests will wait for running ones to finish. Run `npx patch-package` in infergate's directory (npm install does, unless scripts are ignored).",
    { code: "INFERGATE_UNPATCHED_LLAMA" },
  );
}

/** A template file is read and compiled at load; one that cannot be fails the load, naming it. */
async function chatPrompter(model: LlamaModel, setting: string): Promise<ChatPrompter> {
  if (setting === "auto" || setting === "transcript") return chatPrompterFor(model, setting);
  try {
    return chatPrompterFor(model, { jinja: await readFile(setting, "utf8") });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ModelLoadError(setting, `chat template: ${reason}`, { cause: error });
  }
}

/** Each llama.cpp decode call carries one sequence's tokens, oldest first; see `batch_invariant`. */
const oneSequencePerBatch: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
  const [item] = items;
  return item ? [{ item, processAmount: Math.min(size, item.tokens.length) }] : [];
};

/** The most specific reason at hand: a missing file, what node-llama-cpp found, else what llama.cpp logged. */
function loadFailureReason(error: unknown, nativeErrors: readonly string[]): string {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return "file not found";
  const message = (error as Error).message;
  const specific = nativeErrors.filter((line) => !/failed to load model$/i.test(line));
  if (/^failed to load model$/i.test(message) && specific.length > 0)
    return [...new Set(specific)].join("; ");
  return message;
}
