import { channel } from "node:diagnostics_channel";

/**
 * What happened, published on named diagnostics channels. Metrics and logs subscribe; the request path only
 * publishes, so it knows about neither.
 */
export interface RequestEndEvent {
  route: string;
  /** `id:precision`, or "" when the request never got as far as a model. */
  model: string;
  status: number;
  durationMs: number;
  /** Set when the request failed: the error's stable code. */
  errorCode?: string;
  promptTokens?: number;
  completionTokens?: number;
  ttftMs?: number;
  /** (E2E − TTFT) / (completion tokens − 1), for streams of two or more tokens. */
  timePerOutputTokenMs?: number;
}

export interface ModelLoadedEvent {
  model: string;
  loadMs: number;
}

export const requestEnd = channel("infergate:request:end");
export const modelLoaded = channel("infergate:model:loaded");

export function publishRequestEnd(event: RequestEndEvent): void {
  if (requestEnd.hasSubscribers) requestEnd.publish(event);
}

export function publishModelLoaded(event: ModelLoadedEvent): void {
  if (modelLoaded.hasSubscribers) modelLoaded.publish(event);
}
