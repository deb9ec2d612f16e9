/**
 * @module disk-guard
 * What happens when the data folder's disk fills up. A database that cannot grow refuses every
 * write, including the one that would mark a task failed, so the guard keeps a small reserve
 * file in the data folder. The first "disk full" error releases it: from then on log lines are
 * no longer written (each running task whose output cannot be stored is failed with a clear
 * message), while the freed space takes the final statuses. The guard then tries to lay the
 * reserve again now and then; once that succeeds there is room again and logs are written again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger';

export const DEFAULT_DISK_RESERVE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_DISK_RETRY_MS = 10_000;
export const RESERVE_FILE = 'disk-reserve';

/** what log writers see of the guard */
export interface StorageGuard {
	/** true while the data folder is full: log lines are not written */
	readonly full: boolean;
	/** Looks at a failed write; true (and the reserve released) when the disk is full. */
	report(err: unknown): boolean;
}

export interface DiskGuardOptions {
	dataDir: string;
	logger: Logger;
	/** bytes kept free for final statuses; 0 keeps none */
	reserveBytes?: number;
	/** how often a full disk is checked for room again */
	retryMs?: number;
}

/** SQLite's "database or disk is full", or the OS's ENOSPC / EDQUOT, anywhere in the cause chain */
export function isDiskFull(err: unknown): boolean {
	for (
		let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0;
		e && depth < 5;
		depth++
	) {
		const code = typeof e.code === 'string' ? e.code : '';
		if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT') return true;
		e = e.cause as typeof e;
	}
	return false;
}

/** The message a task gets when its output could not be stored. */
export function describeStorageFailure(err: unknown): string {
	const detail = (err as Error)?.message ?? String(err);
	return isDiskFull(err)
		? `the data folder is full, so this task's output could not be stored (${detail}); free disk space and run it again`
		: `this task's output could not be stored (${detail})`;
}

export class DiskGuard implements StorageGuard {
	#options: Required<DiskGuardOptions>;
	#file: string;
	#full = false;
	#timer: NodeJS.Timeout | null = null;
	#closed = false;

	constructor(options: DiskGuardOptions) {
		this.#options = { reserveBytes: DEFAULT_DISK_RESERVE_BYTES, retryMs: DEFAULT_DISK_RETRY_MS, ...options };
		this.#file = path.join(options.dataDir, RESERVE_FILE);
		this.#layReserve();
	}

	get full(): boolean {
		return this.#full;
	}

	report(err: unknown): boolean {
		if (!isDiskFull(err)) return false;
		if (this.#full || this.#closed) return true;
		this.#full = true;
		try {
			fs.rmSync(this.#file, { force: true });
		} catch {
			// nothing to release
		}
		this.#options.logger.error(
			{ err, data_dir: this.#options.dataDir },
			'the data folder is full: running tasks fail as their output cannot be stored; free disk space (aco retries on its own)'
		);
		this.#schedule();
		return true;
	}

	close(): void {
		this.#closed = true;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	#schedule(): void {
		if (this.#closed) return;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			if (this.#layReserve()) {
				this.#full = false;
				this.#options.logger.info({ data_dir: this.#options.dataDir }, 'the data folder has room again');
			} else {
				this.#schedule();
			}
		}, this.#options.retryMs);
		this.#timer.unref();
	}

	/** writes the reserve file; false when the disk has no room for it */
	#layReserve(): boolean {
		const { reserveBytes } = this.#options;
		if (reserveBytes <= 0) return true;
		try {
			if (fs.statSync(this.#file).size >= reserveBytes) return true;
		} catch {
			// not there yet
		}
		try {
			fs.writeFileSync(this.#file, Buffer.alloc(reserveBytes), { mode: 0o600 });
			return true;
		} catch (err) {
			fs.rmSync(this.#file, { force: true });
			if (!isDiskFull(err)) this.#options.logger.warn({ err }, 'could not write the disk reserve file');
			return isDiskFull(err) ? false : true;
		}
	}
}
