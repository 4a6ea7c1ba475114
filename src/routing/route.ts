import type { RouteConfig } from "../config/schema.js";
import type { RequestSignal } from "../core/abort.js";
import { UnsupportedTaskError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import { topics } from "../telemetry/events.js";
import type { BreakerReading } from "../telemetry/metrics.js";
import { canFallBack, failureCode } from "./failures.js";
import { RoutedRequest } from "./routed-request.js";
import type { Admitted, RoutingInput, ServingModel, TargetSource } from "./serving.js";
import type { SharedState } from "./shared-state.js";
import { pickArm } from "./sticky-arm.js";
import { TargetPolicy } from "./target-policy.js";

/** One target a request may be sent to, and why it is on the list. */
interface Step {
  model: string;
  via: "arm" | "specialist" | "fallback";
}

/** The targets to try for one request, in order, and the A/B arm it was assigned. */
export interface Plan {
  arm: string;
  steps: Step[];
}

/** A try that succeeded: its value, the admitted target, and what frees the target's places. */
export interface Served<T> {
  value: T;
  admitted: Admitted;
  release(): void;
}

interface Specialist {
  model: string;
  pattern?: RegExp;
  classifier?: NonNullable<RouteConfig["specialists"][number]["classifier"]>;
}

/**
 * A public model name served by other models. Each request gets a plan: a specialist when a rule or the
 * classifier puts it in that domain, then its A/B arm (sticky per key), then the fallback chain. Targets are
 * tried in order under their policies until one answers; a failure after the client saw the first byte ends
 * the stream with an error, since the answer can no longer be swapped.
 *
 * @example
 * const route = new Route(config.routes[0], "generate", servedModels);
 * const admitted = route.admit("generate", { headers: req.headers, record });
 * for await (const chunk of admitted.model.generate(request, signal)) res.write(chunk.text);
 * admitted.release();
 */
export class Route {
  readonly name: string;
  readonly #policies = new Map<string, TargetPolicy>();
  readonly #specialists: Specialist[];

  constructor(
    private readonly config: RouteConfig,
    readonly task: Task,
    private readonly source: TargetSource,
    shared?: SharedState,
  ) {
    this.name = config.name;
    const models = [
      ...config.specialists.map((specialist) => specialist.model),
      ...config.targets.map((target) => target.model),
      ...config.fallback,
    ];
    for (const model of models) {
      if (!this.#policies.has(model))
        this.#policies.set(model, new TargetPolicy(config.name, model, config, shared));
    }
    this.#specialists = config.specialists.map((specialist) => ({
      model: specialist.model,
      ...(specialist.match !== undefined && {
        pattern: new RegExp(specialist.match, specialist.match_flags),
      }),
      ...(specialist.classifier && { classifier: specialist.classifier }),
    }));
  }

  *breakers(): Iterable<BreakerReading> {
    if (!this.config.breaker) return;
    for (const policy of this.#policies.values()) {
      yield { route: this.name, target: policy.target, state: policy.breakerState };
    }
  }

  admit(task: Task, input: RoutingInput): Admitted {
    if (task !== this.task) throw new UnsupportedTaskError(this.name, task);
    input.record.publicModel = this.name;
    return new RoutedRequest(this, input);
  }

  get totalTimeoutMs(): number | undefined {
    return this.config.timeout_ms.total;
  }

  /** The targets for one request; `text` (a generation's prompt) lets specialists claim it. */
  async plan(input: RoutingInput, text: string | undefined): Promise<Plan> {
    const arm = pickArm(this.config.targets, stickyKey(this.config.sticky_key, input), this.name).model;
    const specialist = text === undefined ? undefined : await this.#specialistFor(text, arm);
    const steps: Step[] = [
      ...(specialist === undefined ? [] : [{ model: specialist, via: "specialist" as const }]),
      { model: arm, via: "arm" },
      ...this.config.fallback.map((model) => ({ model, via: "fallback" as const })),
    ];
    return { arm, steps: steps.filter((step, i) => steps.findIndex((s) => s.model === step.model) === i) };
  }

  /**
   * Tries the plan's targets in order: `open` under each target's first-token timeout, then `settle`, both
   * under its retries and breaker. Moves on after a failure a next target could avoid; anything else (a bad
   * request, the client leaving) ends the request at once.
   */
  async serve<O, T>(
    plan: Plan,
    input: RoutingInput,
    signal: RequestSignal,
    open: (model: ServingModel, signal: RequestSignal) => Promise<O>,
    settle: (opened: O) => Promise<T>,
  ): Promise<Served<T>> {
    let failure: unknown;
    for (const [index, step] of plan.steps.entries()) {
      const previous = plan.steps[index - 1];
      if (previous) {
        topics.fallback.publish({
          route: this.name,
          from: previous.model,
          to: step.model,
          reason: failureCode(failure),
        });
      }
      try {
        const served = await this.#try(step, input, signal, open, settle);
        topics.routeDecision.publish({
          route: this.name,
          target: served.admitted.name,
          arm: plan.arm,
          via: step.via,
        });
        return served;
      } catch (error) {
        if (signal.aborted || !canFallBack(error)) throw error;
        failure = error;
      }
    }
    throw failure;
  }

  async #try<O, T>(
    step: Step,
    input: RoutingInput,
    signal: RequestSignal,
    open: (model: ServingModel, signal: RequestSignal) => Promise<O>,
    settle: (opened: O) => Promise<T>,
  ): Promise<Served<T>> {
    const policy = this.#policies.get(step.model) as TargetPolicy;
    const releaseSlot = await policy.hold(signal);
    try {
      const { admitted, value } = await policy.run(
        async (attemptSignal) => {
          const admitted = await this.source.admitModel(step.model, this.task, input);
          try {
            return { admitted, opened: await open(admitted.model, attemptSignal) };
          } catch (error) {
            admitted.release();
            throw error;
          }
        },
        async ({ admitted, opened }) => {
          try {
            return { admitted, value: await settle(opened) };
          } catch (error) {
            admitted.release();
            throw error;
          }
        },
        signal,
      );
      return {
        value,
        admitted,
        release: () => {
          admitted.release();
          releaseSlot();
        },
      };
    } catch (error) {
      releaseSlot();
      throw error;
    }
  }

  async #specialistFor(text: string, arm: string): Promise<string | undefined> {
    for (const specialist of this.#specialists) {
      if (specialist.pattern?.test(text)) return specialist.model;
      const classifier = specialist.classifier;
      if (!classifier) continue;
      let admitted: Admitted | undefined;
      try {
        admitted = await this.source.admitModel(classifier.model, "classify");
        const [result] = await admitted.model.classify([text]);
        if ((result?.scores[classifier.label] ?? 0) >= classifier.min_score) return specialist.model;
      } catch (error) {
        // A classifier that fails must not fail the request: the general model takes it, and it shows.
        topics.fallback.publish({
          route: this.name,
          from: classifier.model,
          to: arm,
          reason: failureCode(error),
        });
      } finally {
        admitted?.release();
      }
    }
    return undefined;
  }
}

function stickyKey(spec: string | undefined, input: RoutingInput): string | undefined {
  if (spec === undefined) return undefined;
  if (spec === "field:user") return input.user ?? undefined;
  const value = input.headers[spec.slice("header:".length).toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
