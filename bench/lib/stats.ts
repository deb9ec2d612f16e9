/**
 * @module bench/lib/stats
 * Clocks, medians and percentiles for the benchmarks. Every figure is the median of several
 * repetitions because the machines are shared: one slow repetition must not move the result.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Microseconds on the monotonic clock. `process.hrtime` reads CLOCK_MONOTONIC, which every
 * process on the machine shares, so a time taken here can be compared with one taken in a
 * child process (publish → receipt latency).
 */
export function nowUs(): number {
	return Number(process.hrtime.bigint()) / 1_000;
}

export function median(values: readonly number[]): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The p-th percentile (0–100) of values already sorted ascending (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median of each numeric field across repetitions of the same measurement. */
export function medianOf<T extends Record<string, number>>(runs: readonly T[]): T {
	const out = {} as Record<string, number>;
	for (const key of Object.keys(runs[0])) out[key] = median(runs.map((run) => run[key]));
	return out as T;
}

/** Lets pending I/O and timers run, as a real producer reading a pipe would between reads. */
export function yieldToLoop(): Promise<void> {
	return nextTurn();
}

/**
 * Full collections when node runs with `--expose-gc` (memory figures are noisier without it);
 * the second pass frees what the first one's finalizers released.
 */
export function collectGarbage(passes = 2): boolean {
	const gc = (globalThis as { gc?: () => void }).gc;
	if (!gc) return false;
	for (let i = 0; i < passes; i++) gc();
	return true;
}

export const MB = 1_000_000;
