/**
 * @module store/sqlite-line-rows
 * Log lines into SQLite several rows per statement: binding and stepping one statement per line
 * costs SQLite about a tenth of the insert, which a statement of {@link LINE_ROWS_PER_INSERT}
 * rows spreads. Only for a batch that adds lines (see {@link onlyNewLines}): a repeated append
 * goes line by line, skipping what is stored.
 */
import type { LogLine } from '../../protocol';
import { streamCode } from './rows';
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

/**
 * One line by itself, under its execution's `log_key`; whether it was stored (the statement is
 * `INSERT OR IGNORE`: a line already stored is skipped).
 */
export function insertLine(stmt: Statements, logKey: number, line: LogLine, rank: number): boolean {
	return (
		stmt.insertLine.run(
			logKey,
			line.n,
			streamCode(line.stream),
			line.ts,
			line.text,
			rank,
			line.partial ? 1 : 0
		).changes > 0
	);
}

/** New lines' rows, inserted {@link LINE_ROWS_PER_INSERT} per statement; `flush()` writes the rest. */
export class LineRows {
	readonly #stmt: Statements;
	/** the execution's `log_key` */
	readonly #logKey: number;
	readonly #lines: LogLine[] = [];
	readonly #ranks: number[] = [];
	readonly #params: unknown[] = new Array(LINE_ROWS_PER_INSERT * LINE_PARAMS);

	constructor(stmt: Statements, logKey: number) {
		this.#stmt = stmt;
		this.#logKey = logKey;
	}

	add(line: LogLine, rank: number): void {
		this.#lines.push(line);
		this.#ranks.push(rank);
		if (this.#lines.length < LINE_ROWS_PER_INSERT) return;
		const p = this.#params;
		let at = 0;
		for (let i = 0; i < LINE_ROWS_PER_INSERT; i++) {
			const row = this.#lines[i]!;
			p[at++] = this.#logKey;
			p[at++] = row.n;
			p[at++] = streamCode(row.stream);
			p[at++] = row.ts;
			p[at++] = row.text;
			p[at++] = this.#ranks[i];
			p[at++] = row.partial ? 1 : 0;
		}
		this.#stmt.insertLines.run(p);
		this.#lines.length = 0;
		this.#ranks.length = 0;
	}

	flush(): void {
		for (let i = 0; i < this.#lines.length; i++)
			insertLine(this.#stmt, this.#logKey, this.#lines[i]!, this.#ranks[i]!);
		this.#lines.length = 0;
		this.#ranks.length = 0;
	}
}
