/**
 * @module ingest/legacy-keys
 * Idempotency keys used to live in `<dataDir>/ingest-keys.ndjson`, apart from the tasks they
 * created; they now live in the store, written in the task's own transaction. At start a node
 * moves any such file into the store once and renames it `*.imported`, so keys survive the upgrade.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';
import type { Store } from '../store/types';

export const LEGACY_KEYS_FILE = 'ingest-keys.ndjson';

/** Moves the keys of an old key file into the store; returns how many were added (0 without a file). */
export async function importLegacyKeys(store: Store, dataDir: string, logger: Logger): Promise<number> {
	const file = path.join(dataDir, LEGACY_KEYS_FILE);
	let text: string;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
		throw err;
	}
	const keys = new Map<string, string>();
	for (const line of text.split('\n')) {
		if (!line) continue;
		try {
			const { k, t } = JSON.parse(line) as { k?: unknown; t?: unknown };
			if (typeof k === 'string' && typeof t === 'string') keys.set(k, t);
		} catch {
			// a line torn by a crash mid-write; the others still count
		}
	}
	const added = await store.importIdempotencyKeys([...keys]);
	fs.renameSync(file, `${file}.imported`);
	logger.info({ file, keys: keys.size, added }, 'moved idempotency keys from the key file into the store');
	return added;
}
