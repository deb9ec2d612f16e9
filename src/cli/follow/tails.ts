/**
 * @module cli/follow/tails
 * The logs a follower prints: one {@link LogTail} per execution, opened one after another in
 * the order they became known (so backlogs print whole, not interleaved), each handing its lines
 * on exactly once. Live lines of an execution whose turn has not come wait in its tail.
 */
import type { LogLine } from '../../lib/protocol/models';
import { LogTail } from '../realtime/log-tail';
import type { RestClient } from '../realtime/rest';

export interface TailSetOptions {
	rest: Pick<RestClient, 'getLogLines'>;
	/** receives each execution's lines, in order, once */
	onLines: (executionId: string, lines: LogLine[]) => void;
	onError: (err: unknown) => void;
	gapRetryDelayMs?: number;
}

export class TailSet {
	readonly #options: TailSetOptions;
	readonly #tails = new Map<string, LogTail>();
	#chain: Promise<void> = Promise.resolve();

	constructor(options: TailSetOptions) {
		this.#options = options;
	}

	has(executionId: string): boolean {
		return this.#tails.has(executionId);
	}

	/** The tail of an execution, created (and queued to open) on first sight. */
	ensure(executionId: string): LogTail {
		let tail = this.#tails.get(executionId);
		if (tail) return tail;
		tail = new LogTail(executionId, {
			rest: this.#options.rest,
			onLines: (lines) => this.#options.onLines(executionId, lines),
			onError: this.#options.onError,
			gapRetryDelayMs: this.#options.gapRetryDelayMs
		});
		this.#tails.set(executionId, tail);
		const opening = tail;
		this.#chain = this.#chain.then(() => opening.open());
		return tail;
	}

	push(executionId: string, line: LogLine): void {
		this.ensure(executionId).push(line);
	}

	/** The execution has at least `count` lines (its record or its completion says so). */
	noteLineCount(executionId: string, count: number): void {
		this.ensure(executionId).noteLineCount(count);
	}

	resyncAll(): void {
		for (const tail of this.#tails.values()) tail.resync();
	}

	/** Resolves once every tail is open and has handed on all it knows of. */
	async idle(): Promise<void> {
		let chain: Promise<void>;
		do {
			chain = this.#chain;
			await chain;
			await Promise.all([...this.#tails.values()].map((tail) => tail.idle()));
		} while (chain !== this.#chain);
	}

	destroy(): void {
		for (const tail of this.#tails.values()) tail.destroy();
		this.#tails.clear();
	}
}
