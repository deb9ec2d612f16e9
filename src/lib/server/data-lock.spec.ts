import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-lock';

const require = createRequire(import.meta.url);
let dir: string;

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-lock-'));
});

afterEach(() => {
	fs.rmSync(dir, { recursive: true, force: true });
});

/** tries to take the lock from another process; returns what it printed */
function lockFromChild(): string {
	const script = `
		const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
		const db = new Database(${JSON.stringify(path.join(dir, 'aco.lock'))}, { timeout: 0 });
		try { db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN EXCLUSIVE; COMMIT'); console.log('locked'); }
		catch (err) { console.log(err.code); }`;
	return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
}

describe('lockDataDir', () => {
	it('refuses a second lock on the same folder, naming the folder', () => {
		const lock = lockDataDir(dir);
		try {
			expect(() => lockDataDir(dir)).toThrow(`the data folder ${dir} is in use by another aco`);
			expect(lockFromChild()).toBe('SQLITE_BUSY');
		} finally {
			lock.release();
		}
	});

	it('can be taken again once released, and release is idempotent', () => {
		const lock = lockDataDir(dir);
		lock.release();
		lock.release();
		expect(lockFromChild()).toBe('locked');
		lockDataDir(dir).release();
	});
});
