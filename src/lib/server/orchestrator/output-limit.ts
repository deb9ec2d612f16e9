/**
 * @module orchestrator/output-limit
 * The cap on what one tool execution may keep (bytes and lines, Buildkite-style 1 GiB by
 * default). Past it the tool runs on undisturbed: its output is still read and counted, but no
 * longer stored or streamed, and the log says so in one marker line where the cap was reached
 * and one with the final count when the tool ends. Shared by the workflow runner's pipeline
 * and the ingest service, so both cut at the same place with the same words.
 */

export interface OutputLimitConfig {
	/** bytes (UTF-8, a newline counted as one) one execution may keep */
	maxBytes: number;
	/** lines (pieces of a split line count one each) one execution may keep */
	maxLines: number;
}

export const DEFAULT_OUTPUT_MAX_BYTES = 1024 ** 3;
export const DEFAULT_OUTPUT_MAX_LINES = 10_000_000;

/** what an execution's counting found past the cap */
export interface DroppedOutput {
	lines: number;
	bytes: number;
}

/** what an OutputLimit has counted (see OutputLimit.save) */
export interface OutputLimitState {
	readonly kept: DroppedOutput;
	readonly dropped: DroppedOutput;
}

/** `store`: keep it; `limit`: this is the first line past the cap (write the marker); `drop`: count it only */
export type OutputVerdict = 'store' | 'limit' | 'drop';

/**
 * @example
 * const limit = new OutputLimit({ maxBytes: 1024, maxLines: 10 });
 * if (limit.admit(text, partial) === 'limit') store(limit.reachedLine());
 */
export class OutputLimit {
	#config: OutputLimitConfig;
	#kept: DroppedOutput;
	#dropped: DroppedOutput;

	/** `kept` / `dropped`: what an execution already has (an ingested one resumed after a restart) */
	constructor(
		config: OutputLimitConfig,
		kept: DroppedOutput = { lines: 0, bytes: 0 },
		dropped?: DroppedOutput
	) {
		this.#config = config;
		this.#kept = { ...kept };
		this.#dropped = { ...(dropped ?? { lines: 0, bytes: 0 }) };
	}

	/** true once the cap was reached: everything from then on is dropped */
	get reached(): boolean {
		return this.#dropped.lines > 0 || this.#dropped.bytes > 0;
	}

	get dropped(): Readonly<DroppedOutput> {
		return this.#dropped;
	}

	/** its counts, to put back with {@link restore} when what it admitted since was not stored */
	save(): OutputLimitState {
		return { kept: { ...this.#kept }, dropped: { ...this.#dropped } };
	}

	restore(state: OutputLimitState): void {
		this.#kept = { ...state.kept };
		this.#dropped = { ...state.dropped };
	}

	admit(text: string, partial: boolean): OutputVerdict {
		const bytes = Buffer.byteLength(text) + (partial ? 0 : 1);
		if (this.reached) {
			this.#count(bytes);
			return 'drop';
		}
		if (this.#kept.lines + 1 > this.#config.maxLines || this.#kept.bytes + bytes > this.#config.maxBytes) {
			this.#count(bytes);
			return 'limit';
		}
		this.#kept.lines += 1;
		this.#kept.bytes += bytes;
		return 'store';
	}

	/** the marker written where the cap was reached */
	reachedLine(): string {
		return `::warning::Output limit reached: this tool's output passed ${this.#describeCap()}; the tool keeps running, and its further output is counted but not stored or streamed.`;
	}

	/** the marker written when the tool ended, with what was dropped */
	finalLine(): string {
		const { lines, bytes } = this.#dropped;
		return `::warning::Output limit: ${formatCount(lines)} more ${lines === 1 ? 'line' : 'lines'} (${formatBytes(bytes)}) of this tool's output were not stored (limit ${this.#describeCap()}).`;
	}

	#count(bytes: number): void {
		this.#dropped.lines += 1;
		this.#dropped.bytes += bytes;
	}

	#describeCap(): string {
		const { maxBytes, maxLines } = this.#config;
		return `${formatBytes(maxBytes)} or ${formatCount(maxLines)} lines`;
	}
}

export function formatCount(value: number): string {
	return value.toLocaleString('en-US');
}

/** 1 GiB, 12.5 MiB, 300 bytes */
export function formatBytes(bytes: number): string {
	const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	if (unit === 0) return `${formatCount(bytes)} ${bytes === 1 ? 'byte' : 'bytes'}`;
	const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
	return `${value.toFixed(digits)} ${units[unit]}`;
}
