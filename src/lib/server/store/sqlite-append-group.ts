/**
 * @module store/sqlite-append-group
 * Log appends made in the same event-loop turn commit in one SQLite transaction. A commit writes
 * every page it touched to the write-ahead log (the lines' table and index, the execution's row)
 * and starts and ends a write transaction, so many executions appending a line or two each
 * (parallel tasks whose pipelines flush on the same tick, see orchestrator/log-pipeline) cost
 * much less per line together than in a commit each.
 *
 * Each append keeps a savepoint of its own: one that fails (an unknown execution, a constraint)
 * is rolled back and rejected alone while the others commit. When the whole transaction is lost
 * (SQLite may roll it back by itself after an I/O error or on a full disk) or its commit fails,
 * each append of the turn runs again in a transaction of its own, so one append's failure is
 * still its own and the others are stored (or fail for their own reasons).
 */
import type Database from 'better-sqlite3';
import type { LogLine } from '../../protocol';

/** stores one execution's lines; returns those it stored (see Store.appendLogLines) */
type Append = (executionId: string, lines: LogLine[]) => LogLine[];

interface Pending {
	executionId: string;
	lines: LogLine[];
	resolve: (stored: LogLine[]) => void;
	reject: (err: unknown) => void;
	/** what the append stored, once its savepoint is released */
	stored?: LogLine[];
	/** set when this append's savepoint was rolled back */
	error?: unknown;
}

export class AppendGroup {
	#db: Database.Database;
	#append: Append;
	#pending: Pending[] = [];
	#immediate: NodeJS.Immediate | null = null;
	#commitAll: (group: Pending[]) => void;

	/** `append` stores one execution's lines in a transaction of its own (a savepoint when nested) */
	constructor(db: Database.Database, append: Append) {
		this.#db = db;
		this.#append = append;
		this.#commitAll = db.transaction((group: Pending[]) => {
			for (const item of group) {
				try {
					item.stored = this.#append(item.executionId, item.lines);
				} catch (err) {
					// the whole transaction is gone: nothing of this turn is stored (flush runs each alone)
					if (!this.#db.inTransaction) throw err;
					item.error = err;
				}
			}
		});
	}

	/**
	 * Resolves with the lines stored once they are committed, or rejects with why they were not: at
	 * the end of this event-loop turn (from within an immediate callback, of the next).
	 */
	add(executionId: string, lines: LogLine[]): Promise<LogLine[]> {
		return new Promise<LogLine[]>((resolve, reject) => {
			this.#pending.push({ executionId, lines, resolve, reject });
			this.#immediate ??= setImmediate(() => this.flush());
		});
	}

	/** commits what waits now (the turn ended, or the store is closing) */
	flush(): void {
		if (this.#immediate) clearImmediate(this.#immediate);
		this.#immediate = null;
		const group = this.#pending;
		if (group.length === 0) return;
		this.#pending = [];
		if (group.length === 1) return this.#alone(group[0]!);
		try {
			this.#commitAll(group);
		} catch {
			// nothing of the group is stored: each goes again on its own
			for (const item of group) this.#alone(item);
			return;
		}
		for (const item of group) {
			if (item.error === undefined) item.resolve(item.stored!);
			else item.reject(item.error);
		}
	}

	/** `item` in a transaction of its own */
	#alone(item: Pending): void {
		let stored: LogLine[];
		try {
			stored = this.#append(item.executionId, item.lines);
		} catch (err) {
			item.reject(err);
			return;
		}
		item.resolve(stored);
	}
}
