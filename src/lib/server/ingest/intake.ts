/**
 * @module ingest/intake
 * What becomes of one ingested tool's output lines before they are stored: the same masking and
 * output limit as the workflow runner's pipeline. Producers number their lines; stored lines keep
 * those numbers one for one (a piece the masker holds back is stored empty, and its text comes
 * with the next piece), so a resent batch is still recognised line by line. Past the output
 * limit the producer's numbers run on while nothing more is stored. What the maskers still hold
 * when the tool ends is stored after its last line, with the limit's final marker.
 */
import type { Execution, LogLine, LogStream } from '../../protocol';
import { isoNow } from '../iso-now';
import { MaskSet } from '../masking/mask-set';
import { StreamMasker, type MaskerState } from '../masking/stream-masker';
import {
	OutputLimit,
	type DroppedOutput,
	type OutputLimitConfig,
	type OutputLimitState
} from '../orchestrator/output-limit';
import { IngestError } from './ingest-error';

export interface IntakeLine {
	n?: number;
	stream: LogStream;
	text: string;
	ts?: string;
	partial?: boolean;
}

export interface IntakeResult {
	/** lines to store, numbered after the stored ones */
	lines: LogLine[];
	duplicates: number;
	/** producer lines counted past the output limit */
	dropped: number;
	/** lines up to the first refused one were taken; this says why the rest were not */
	error: IngestError | null;
}

/** where an intake stood (see ExecutionIntake.save) */
export interface IntakeState {
	readonly maskers: Readonly<Record<LogStream, MaskerState>>;
	readonly limit: OutputLimitState;
	readonly stored: number;
	readonly taken: number;
	readonly lastPartial: boolean;
}

/**
 * @example
 * const intake = new ExecutionIntake(masks, limit, execution);
 * const { lines, error } = intake.take(event.lines, 'events.0', 0);
 * await store.appendLogLines(execution.id, lines);
 * if (error) throw error;
 */
export class ExecutionIntake {
	#maskers: Record<LogStream, StreamMasker>;
	#limit: OutputLimit;
	/** the last line number stored */
	#stored: number;
	/** the producer's last line number taken (equal to #stored until the limit was reached) */
	#taken: number;
	#lastPartial = false;

	constructor(masks: MaskSet, limit: OutputLimitConfig, execution: Execution) {
		this.#maskers = { stdout: new StreamMasker(masks), stderr: new StreamMasker(masks) };
		// after a restart the byte count starts again; the line count is the stored one
		this.#limit = new OutputLimit(limit, { lines: execution.line_count, bytes: 0 }, execution.output_dropped);
		this.#stored = execution.line_count;
		this.#taken = execution.line_count;
	}

	get dropped(): Readonly<DroppedOutput> {
		return this.#limit.dropped;
	}

	/** the last line number this intake stored (or found stored when it was made) */
	get stored(): number {
		return this.#stored;
	}

	/**
	 * Where it stands, to go back to with {@link restore} when the lines it handed out since could
	 * not be stored: what its maskers hold back then comes with the producer's resent lines.
	 */
	save(): IntakeState {
		return {
			maskers: { stdout: this.#maskers.stdout.save(), stderr: this.#maskers.stderr.save() },
			limit: this.#limit.save(),
			stored: this.#stored,
			taken: this.#taken,
			lastPartial: this.#lastPartial
		};
	}

	restore(state: IntakeState): void {
		this.#maskers.stdout.restore(state.maskers.stdout);
		this.#maskers.stderr.restore(state.maskers.stderr);
		this.#limit.restore(state.limit);
		this.#stored = state.stored;
		this.#taken = state.taken;
		this.#lastPartial = state.lastPartial;
	}

	/** `at`: where the event is in the request, for error messages; `step`: the tool's step */
	take(lines: readonly IntakeLine[], at: string, step: number): IntakeResult {
		const result: IntakeResult = { lines: [], duplicates: 0, dropped: 0, error: null };
		for (const [index, line] of lines.entries()) {
			const n = line.n ?? this.#taken + 1;
			if (n <= this.#taken) {
				result.duplicates++;
				continue;
			}
			// past the limit nothing is stored, so a producer's numbers may run ahead freely
			if (n !== this.#taken + 1 && !this.#limit.reached) {
				result.error = new IngestError(
					409,
					'line_gap',
					`${at}.lines.${index}.n: step ${step} has lines 1–${this.#taken} stored, so the next line is ${this.#taken + 1}, not ${n}. Resend the missing lines first.`
				);
				break;
			}
			this.#taken = n;
			const ts = line.ts ?? isoNow();
			// a piece held back whole is stored empty, so producer and stored numbers stay one for one
			const piece = this.#maskers[line.stream].push(line.text, line.partial === true) ?? {
				text: '',
				partial: true
			};
			const verdict = this.#limit.admit(piece.text, piece.partial);
			if (verdict === 'store') {
				this.#push(result.lines, line.stream, piece.text, piece.partial, ts);
			} else {
				result.dropped++;
				if (verdict === 'limit') this.#marker(result.lines, this.#limit.reachedLine(), ts);
			}
		}
		return result;
	}

	/** The tool ended: what the maskers held back, and the final output-limit marker. */
	end(): LogLine[] {
		const lines: LogLine[] = [];
		const ts = new Date().toISOString();
		for (const stream of ['stdout', 'stderr'] as const) {
			const rest = this.#maskers[stream].flush();
			if (!rest) continue;
			const verdict = this.#limit.admit(rest.text, rest.partial);
			if (verdict === 'store') this.#push(lines, stream, rest.text, rest.partial, ts);
			else if (verdict === 'limit') this.#marker(lines, this.#limit.reachedLine(), ts);
		}
		if (this.#limit.reached) this.#marker(lines, this.#limit.finalLine(), ts);
		return lines;
	}

	#marker(lines: LogLine[], text: string, ts: string): void {
		if (this.#lastPartial) this.#push(lines, 'stderr', '', false, ts);
		this.#push(lines, 'stderr', text, false, ts);
	}

	#push(lines: LogLine[], stream: LogStream, text: string, partial: boolean, ts: string): void {
		const line: LogLine = { n: ++this.#stored, stream, ts, text };
		if (partial) line.partial = true;
		this.#lastPartial = partial;
		lines.push(line);
		if (!this.#limit.reached) this.#taken = Math.max(this.#taken, this.#stored);
	}
}
