import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { openSqliteStore } from '../store/sqlite-store';
import { createStandaloneTask } from '../store/test-records';
import type { Store } from '../store/types';
import { LEGACY_KEYS_FILE, importLegacyKeys } from './legacy-keys';

const logger = createLogger('silent');

describe('the old idempotency key file', () => {
	let dir: string;
	let store: Store;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-keys-'));
		store = openSqliteStore(dir);
	});
	afterEach(async () => {
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it('moves its keys into the store once, skipping torn lines, and renames the file', async () => {
		const task = await createStandaloneTask(store);
		const file = path.join(dir, LEGACY_KEYS_FILE);
		fs.writeFileSync(file, `${JSON.stringify({ k: 'spool-1', t: task.id })}\n{"k":"torn\n`);

		expect(await importLegacyKeys(store, dir, logger)).toBe(1);
		expect(fs.existsSync(file)).toBe(false);
		expect(fs.existsSync(`${file}.imported`)).toBe(true);
		expect(await store.createTaskOnce('spool-1', { ...task, needs: [] })).toMatchObject({
			existing: true,
			task: { id: task.id }
		});
		expect(await importLegacyKeys(store, dir, logger)).toBe(0);
	});

	it('does nothing without a file', async () => {
		expect(await importLegacyKeys(store, dir, logger)).toBe(0);
	});
});
