// Shared by the benchmarks (files starting with "_" are not benchmarks themselves).

/** Prints one figure as the JSON line the benchmark format asks for (README, "Benchmarks"), rounded to `decimals`. */
export function emitter(bench: string, decimals = 3): (figure: string, value: number, unit: string, target: string) => void {
  const scale = 10 ** decimals;
  return (figure, value, unit, target) => {
    process.stdout.write(`${JSON.stringify({ bench: `${bench}.${figure}`, value: Math.round(value * scale) / scale, unit, target })}\n`);
  };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** CPU per task of one measured engine drain (bench/_engine-run.ts, read by bench/engine.ts). */
export interface CpuPerTask {
  /** The worker process's CPU, user + system, µs. */
  nodeUs: number;
  /** The Redis server's CPU, µs. */
  redisUs: number;
  /** Commands Redis ran, those inside scripts included. */
  redisCalls: number;
  /** The worker process's write system calls (Linux's /proc/self/io; absent elsewhere). */
  writes?: number;
}
