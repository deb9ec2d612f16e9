/**
 * @module data-lock
 * One aco per data folder. A second one would take the first one's running work for the
 * leftovers of a dead process and mark it interrupted on start, then both would write the same
 * records. The lock is an exclusive SQLite lock on `aco.lock`, which the operating system
 * releases when the holder dies, so a crash never leaves a stale lock behind.
 */
import path from 'node:path';
import Database from 'better-sqlite3';

export const LOCK_FILENAME = 'aco.lock';

export interface DataLock {
	/** releases the lock; idempotent */
	release(): void;
}

/**
 * Takes the data folder's lock or throws, without waiting, when another aco holds it.
 * @example const lock = lockDataDir('./data'); … lock.release();
 */
export function lockDataDir(dataDir: string): DataLock {
	const db = new Database(path.join(dataDir, LOCK_FILENAME), { timeout: 0 });
	try {
		// in exclusive locking mode the lock a write takes is kept until the connection closes
		db.pragma('locking_mode = EXCLUSIVE');
		db.exec('BEGIN EXCLUSIVE; COMMIT');
	} catch (err) {
		db.close();
		if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) {
			throw new Error(
				`the data folder ${dataDir} is in use by another aco; stop it, or set ACO_DATA_DIR to another folder`,
				{ cause: err }
			);
		}
		throw err;
	}
	return {
		release() {
			if (db.open) db.close();
		}
	};
}
