/**
 * @module store/sqlite-line-rows
 * Log lines into SQLite several rows per statement: binding and stepping one statement per line
 * costs SQLite about a tenth of the insert, which a statement of {@link LINE_ROWS_PER_INSERT}
 * rows spreads. Only for a batch that adds lines (see {@link onlyNewLines}): a repeated append
 * goes line by line, skipping what is stored.
 */
import type { LogLine } from '../../protocol';
import { LINE_ROWS_PER_INSERT, type Statements } from './statements';

/**
 * Whether a batch only adds lines: numbered in rising order, none of them stored yet (one index
 * seek over the batch's range). Then each line is inserted and ranked as it comes, and the
 * progress runs' look back at line n - 1 (stored by an earlier batch, or a gap) reads the same
 * whether this batch's earlier rows are written yet or not.
 */
export function onlyNewLines(stmt: Statements, executionId: string, lines: LogLine[]): boolean {
	for (let i = 1; i < lines.length; i++) if (lines[i].n <= lines[i - 1].n) return false;
	return stmt.lineInRange.get(executionId, lines[0].n, lines[lines.length - 1].n) === undefined;
}

const LINE_PARAMS = 7;

/** New lines' rows, inserted {@link LINE_ROWS_PER_INSERT} per statement; `flush()` writes the rest. */
export class LineRows {
	readonly #stmt: Statements;
	readonly #executionId: string;
	readonly #params: unknown[] = new Array(LINE_ROWS_PER_INSERT * LINE_PARAMS);
	#at = 0;

	constructor(stmt: Statements, executionId: string) {
		this.#stmt = stmt;
		this.#executionId = executionId;
	}

	add(line: LogLine, rank: number): void {
		const p = this.#params;
		let at = this.#at;
		p[at++] = this.#executionId;
		p[at++] = line.n;
		p[at++] = line.stream;
		p[at++] = line.ts;
		p[at++] = line.text;
		p[at++] = rank;
		p[at++] = line.partial ? 1 : 0;
		this.#at = at;
		if (at === p.length) {
			this.#stmt.insertLines.run(p);
			this.#at = 0;
		}
	}

	flush(): void {
		const p = this.#params;
		for (let at = 0; at < this.#at; at += LINE_PARAMS) {
			this.#stmt.insertLine.run(
				this.#executionId,
				p[at + 1] as number,
				p[at + 2] as string,
				p[at + 3] as string,
				p[at + 4] as string,
				p[at + 5] as number,
				p[at + 6] as number
			);
		}
		this.#at = 0;
	}
}
