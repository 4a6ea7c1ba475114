import { readFile } from "node:fs/promises";
import { setTimeout } from "node:timers/promises";
import type { CustomBatchingPrioritizationStrategy, Llama, LlamaModel } from "node-llama-cpp";
import type { LlamaCppModelSpec } from "../../config/load-config.js";
import { ModelLoadError } from "../../core/errors.js";
import type { ModelRef } from "../../models/model-registry.js";
import type { Engine, LoadedModel, LoadOptions } from "../engine.js";
import { type ChatPrompter, chatPrompterFor } from "./chat-prompt.js";
import { checkGgufFile } from "./check-gguf-file.js";
import { InProcessSequence } from "./decode-sequence.js";
import { type Decoding, LlamaLoadedModel } from "./llama-loaded-model.js";
import { llamaCppTools } from "./llama-server-build.js";
import { LlamaServerProcess } from "./llama-server-process.js";
import { ServerSequence } from "./server-sequence.js";
import { calibrateThreads } from "./thread-calibration.js";

export interface LlamaCppEngine extends Engine<LlamaCppModelSpec>, AsyncDisposable {}

/** A runtime's decoding, with the attention kernel it settled on, for reports. */
type ModelDecoding = Decoding & { flashAttention: string };

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

  const engine: LlamaCppEngine = {
    async load(ref, options: LoadOptions = {}) {
      const llamaInstance = await runtime();
      const started = performance.now();
      const { spec } = ref;
      const served = spec.runtime === "llama-server";
      if (served && spec.batch_invariant)
        throw new ModelLoadError(
          ref.source,
          "batch_invariant needs runtime: in-process (llama-server decodes its slots in shared batches)",
        );
      let model: LlamaModel;
      try {
        nativeErrors = [];
        await checkGgufFile(ref.source, llamaInstance);
        // Served by llama-server, the weights live in its process; this one needs only the tokenizer.
        model = await llamaInstance.loadModel({ modelPath: ref.source, vocabOnly: served });
      } catch (error) {
        // llama.cpp's log lines reach us through the event loop, possibly after the rejection.
        await setTimeout(20);
        throw new ModelLoadError(ref.source, loadFailureReason(error, nativeErrors), { cause: error });
      }
      let decoding: ModelDecoding | undefined;
      try {
        const prompter = await chatPrompter(model, spec.chat_template);
        const calibration =
          options.threads === undefined && spec.threads === "auto"
            ? await calibrateThreads(
                served ? () => llamaInstance.loadModel({ modelPath: ref.source }) : model,
                ref.source,
                llamaInstance.cpuMathCores,
              )
            : undefined;
        const threads =
          options.threads ?? (spec.threads === "auto" ? calibration?.threads : spec.threads) ?? 1;
        decoding = served
          ? await serverDecoding(ref, model, threads, () =>
              engine.load({ ...ref, spec: { ...spec, runtime: "in-process", parallel: 1 } }, { threads }),
            )
          : await inProcessDecoding(spec, model, threads);
        const state = await model.fileInsights.estimateContextResourceRequirements({
          contextSize: decoding.contextSize,
          sequences: spec.parallel,
          modelGpuLayers: model.gpuLayers,
          includeGraphOverhead: false,
        });
        return new LlamaLoadedModel(
          ref,
          {
            engine: "llamacpp",
            runtime: spec.runtime,
            gpu: llamaInstance.gpu === false ? "none" : llamaInstance.gpu,
            threads,
            threads_source: options.threads !== undefined ? "option" : calibration ? "calibrated" : "config",
            ...(calibration && {
              calibration_ms: calibration.tookMs,
              calibration_cached: calibration.cached,
            }),
            context_size: decoding.contextSize,
            parallel: spec.parallel,
            batch_invariant: spec.batch_invariant,
            flash_attention: decoding.flashAttention,
            load_ms: Math.round(performance.now() - started),
            chat_template: prompter.name,
          },
          llamaInstance,
          model,
          decoding,
          state.cpuRam + state.gpuVram,
          prompter,
        );
      } catch (error) {
        await decoding?.close();
        await model.dispose();
        throw error;
      }
    },

    async [Symbol.asyncDispose]() {
      if (llama) await (await llama).dispose();
      llama = undefined;
    },
  };
  return engine;
}

/** The model's context in this process: `parallel` sequences decoded by node-llama-cpp. */
async function inProcessDecoding(
  spec: LlamaCppModelSpec,
  model: LlamaModel,
  threads: number,
): Promise<ModelDecoding> {
  const context = await model.createContext({
    contextSize: spec.context_size,
    sequences: spec.parallel,
    threads,
    flashAttention: spec.flash_attention,
    ...(spec.batch_invariant && { batching: { itemPrioritizationStrategy: oneSequencePerBatch } }),
  });
  return {
    sequences: Array.from(
      { length: context.totalSequences },
      () => new InProcessSequence(context.getSequence(), model),
    ),
    contextSize: context.contextSize,
    threads,
    flashAttention: String(context.flashAttention),
    close: () => context.dispose(),
  };
}

/**
 * The model served by a supervised llama-server (built on first use), one slot per parallel sequence; what its
 * slots cannot do goes to an in-process copy of the model, loaded when first needed.
 */
async function serverDecoding(
  ref: ModelRef & { spec: LlamaCppModelSpec },
  vocabulary: LlamaModel,
  threads: number,
  loadLocal: () => Promise<LoadedModel>,
): Promise<ModelDecoding> {
  const { spec } = ref;
  const endOfGeneration = vocabulary.tokens.eos ?? vocabulary.tokens.eot;
  if (endOfGeneration === null)
    throw new ModelLoadError(ref.source, "the model has no end-of-generation token");
  const tools = await llamaCppTools((line) => process.stderr.write(`infergate: ${line}\n`)).catch(
    (error: unknown) => {
      const reason =
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? "cmake or git not found"
          : (error as Error).message;
      throw new ModelLoadError(
        ref.source,
        `runtime llama-server: cannot build llama-server (it needs cmake and a C++ compiler once): ${reason}`,
        { cause: error },
      );
    },
  );
  const server = await LlamaServerProcess.start({
    binary: tools.server,
    modelPath: ref.source,
    threads,
    parallel: spec.parallel,
    contextSize: spec.context_size,
    flashAttention: spec.flash_attention,
    onRestart: (reason) =>
      process.emitWarning(`${reason}; restarting it`, { code: "INFERGATE_LLAMA_SERVER_RESTART" }),
  });
  let local: Promise<LoadedModel> | undefined;
  return {
    sequences: Array.from(
      { length: spec.parallel },
      (_, slot) => new ServerSequence(server, slot, endOfGeneration),
    ),
    contextSize: spec.context_size,
    threads,
    flashAttention: String(spec.flash_attention),
    local: () => {
      local ??= loadLocal();
      return local;
    },
    process: server,
    async close() {
      await server.stop();
      if (local) await (await local).close();
    },
  };
}

/**
 * `npm install` applies patches/node-llama-cpp+3.21.1.patch (patch-package, postinstall); installed with
 * `--ignore-scripts` it is missing: a request that arrives while others decode waits for all of them to end, and
 * llama.cpp decodes each step of parallel sequences in parts.
 */
function warnIfUnpatched(context: { prototype: object }): void {
  const dispatch = (context.prototype as { dispatchPendingBatch?: () => void }).dispatchPendingBatch;
  if (String(dispatch).includes("One batch per hold of the context lock")) return;
  process.emitWarning(
    "node-llama-cpp is not patched: new requests will wait for running ones to finish, and parallel sequences decode slower. Run `npx patch-package` in infergate's directory (npm install does, unless scripts are ignored).",
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
