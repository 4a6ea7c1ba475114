import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";

const KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

/**
 * Hears every garbage-collection pause of this process (its kind and duration in ms), so a latency tail can be
 * told from a pause. Returns the function that stops listening.
 */
export function observeGcPauses(onPause: (kind: string, durationMs: number) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      onPause(KINDS[kind ?? -1] ?? "other", entry.duration);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}
