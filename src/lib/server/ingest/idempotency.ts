/**
 * @module ingest/idempotency
 * Remembers which task each idempotency key created, so a producer that resends a create
 * (its answer was lost, or it delivers a spooled log after a restart) gets the same task.
 * Kept in memory and appended to a small file in the data folder, so keys survive restarts;
 * the oldest keys are forgotten beyond a bound and the file is compacted on start.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

export const DEFAULT_MAX_KEYS = 10_000;
export const IDEMPOTENCY_FILE = 'ingest-keys.ndjson';

export interface IdempotencyKeysOptions {
	/** folder of the key file; memory only when null */
	dir: string | null;
	logger: Logger;
	maxKeys?: number;
}

export class IdempotencyKeys {
	#options: Required<IdempotencyKeysOptions>;
	/** insertion order = age, so the first key is the oldest */
	#keys = new Map<string, string>();
	#file: string | null;
	#appended = 0;

	constructor(options: IdempotencyKeysOptions) {
		this.#options = { maxKeys: DEFAULT_MAX_KEYS, ...options };
		this.#file = options.dir ? path.join(options.dir, IDEMPOTENCY_FILE) : null;
		this.#load();
	}

	get(key: string): string | undefined {
		return this.#keys.get(key);
	}

	set(key: string, taskId: string): void {
		this.#keys.set(key, taskId);
		this.#trim();
		if (!this.#file) return;
		try {
			fs.appendFileSync(this.#file, JSON.stringify({ k: key, t: taskId }) + '\n');
			if (++this.#appended > this.#options.maxKeys) this.#compact();
		} catch (err) {
			// the key still works until a restart; losing it only risks a duplicate task then
			this.#options.logger.warn({ err, file: this.#file }, 'could not store an idempotency key');
		}
	}

	#trim(): void {
		while (this.#keys.size > this.#options.maxKeys) {
			const oldest = this.#keys.keys().next().value as string;
			this.#keys.delete(oldest);
		}
	}

	#load(): void {
		if (!this.#file || !fs.existsSync(this.#file)) return;
		try {
			for (const line of fs.readFileSync(this.#file, 'utf8').split('\n')) {
				if (!line) continue;
				try {
					const { k, t } = JSON.parse(line) as { k?: unknown; t?: unknown };
					if (typeof k === 'string' && typeof t === 'string') this.#keys.set(k, t);
				} catch {
					// a line torn by a crash mid-write; the others still count
				}
			}
			this.#trim();
			this.#compact();
		} catch (err) {
			this.#options.logger.warn({ err, file: this.#file }, 'could not read the idempotency keys');
		}
	}

	#compact(): void {
		if (!this.#file) return;
		const body = [...this.#keys].map(([k, t]) => JSON.stringify({ k, t }) + '\n').join('');
		const tmp = `${this.#file}.tmp`;
		fs.writeFileSync(tmp, body);
		fs.renameSync(tmp, this.#file);
		this.#appended = 0;
	}
}
