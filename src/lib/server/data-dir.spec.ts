import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './store/sqlite-store';
import { preparePrivateDir, preparePrivateFile } from './data-dir';

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

describe('data folder modes', () => {
	const dirs: string[] = [];
	const temp = () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-modes-'));
		dirs.push(dir);
		return dir;
	};
	afterEach(() => {
		for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
	});

	it('creates the data folder 0700 and the database, WAL and shared-memory files 0600', async () => {
		const dataDir = path.join(temp(), 'data');
		preparePrivateDir(dataDir);
		const store = openSqliteStore(dataDir);
		await store.createRun({ workflow: 'w', total_weight: 1 });
		expect(modeOf(dataDir)).toBe(0o700);
		for (const file of ['aco.db', 'aco.db-wal', 'aco.db-shm'])
			expect(modeOf(path.join(dataDir, file))).toBe(0o600);
		await store.close();
	});

	it('tightens a folder and files others could read, and says so', async () => {
		const dataDir = temp();
		fs.chmodSync(dataDir, 0o755);
		const db = path.join(dataDir, 'aco.db');
		fs.writeFileSync(db, '', { mode: 0o644 });
		fs.chmodSync(db, 0o644);
		const told: string[] = [];
		const onTightened = (p: string, before: number) => told.push(`${path.basename(p)} ${before.toString(8)}`);
		preparePrivateDir(dataDir, onTightened);
		preparePrivateFile(db, { create: true, onTightened });
		preparePrivateFile(path.join(dataDir, 'missing'), { onTightened });
		expect(modeOf(dataDir)).toBe(0o700);
		expect(modeOf(db)).toBe(0o600);
		expect(told).toEqual([`${path.basename(dataDir)} 755`, 'aco.db 644']);
		expect(fs.existsSync(path.join(dataDir, 'missing'))).toBe(false);
	});
});
