import { readFileSync, writeFileSync } from "node:fs";

/**
 * Peak memory of one request: the process's resident-set high-water mark (VmHWM), reset to the current RSS just
 * before the request by writing 5 to /proc/self/clear_refs (Linux). Requests must run one at a time.
 */
export interface PeakMemorySample {
  /** VmHWM after the request: the most the process held while serving it. */
  peakRssBytes: number;
  /** How far above the RSS before it the request took the process. */
  growthBytes: number;
}

export function peakMemorySupported(): boolean {
  try {
    readStatus();
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    // Not Linux, or /proc is not writable here: the figure is simply not measured.
    return false;
  }
}

export async function measurePeakMemory(request: () => Promise<unknown>): Promise<PeakMemorySample> {
  writeFileSync("/proc/self/clear_refs", "5");
  const before = readStatus().rss;
  await request();
  const after = readStatus();
  return { peakRssBytes: after.hwm, growthBytes: Math.max(0, after.hwm - before) };
}

function readStatus(): { rss: number; hwm: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kilobytes = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  const rss = kilobytes("VmRSS") * 1024;
  const hwm = kilobytes("VmHWM") * 1024;
  if (!Number.isFinite(rss) || !Number.isFinite(hwm)) throw new Error("no VmRSS/VmHWM in /proc/self/status");
  return { rss, hwm };
}
