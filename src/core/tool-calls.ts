import type { ToolCall, ToolCallDelta, ToolDefinition } from "./types.js";

/**
 * Whole function calls from their streamed pieces: a call's first piece names it (id and function name), the
 * rest add to its arguments, pieces of different calls told apart by `index`.
 */
export class ToolCallAssembler {
  readonly #calls: ToolCall[] = [];

  add(deltas: readonly ToolCallDelta[]): void {
    for (const delta of deltas) {
      let call = this.#calls[delta.index];
      if (!call) {
        call = { id: "", name: "", arguments: "" };
        this.#calls[delta.index] = call;
      }
      if (delta.id) call.id = delta.id;
      if (delta.name) call.name += delta.name;
      call.arguments += delta.arguments;
    }
  }

  /** The calls so far, in index order; undefined when there are none. */
  calls(): ToolCall[] | undefined {
    const calls = this.#calls.filter((call) => call !== undefined);
    return calls.length > 0 ? calls : undefined;
  }
}

/** Whole calls as the deltas that carry each in one piece. */
export function toolCallDeltas(calls: readonly ToolCall[]): ToolCallDelta[] {
  return calls.map((call, index) => ({ index, id: call.id, name: call.name, arguments: call.arguments }));
}

/** A function declaration as the request model holds it, the fields a client left out (or sent as null) absent. */
export function toolDefinition(
  name: string,
  description: string | null | undefined,
  parameters: Readonly<Record<string, unknown>> | null | undefined,
  strict?: boolean | null,
): ToolDefinition {
  const definition: ToolDefinition = { name };
  if (description) definition.description = description;
  if (parameters) definition.parameters = parameters;
  if (strict !== null && strict !== undefined) definition.strict = strict;
  return definition;
}
