/**
 * @module orchestrator/parse-cache
 * Keeps what was parsed from each file while the file is unchanged, so listing the workflows
 * (every page view, `GET /api/v1/workflows`, every run started) costs one `stat` per file rather
 * than a YAML parse, which takes about 1 s per MiB (in a worker thread past 32 KiB: workflow-parse).
 *
 * Unchanged means the same device, inode, size, mtime and ctime, to the nanosecond where the
 * file system keeps them. A rename over the file changes its inode; a write in place changes its
 * ctime, which no one can set back (unlike mtime). Two writes within one tick of the file
 * system's clock (a few ms, or 1–2 s on some file systems) can leave all of these the same, so,
 * as git does with "racily clean" files, the stat is trusted only once the file's last change is
 * `racyMs` older than the moment it was looked at; until then its text is read again and compared
 * by hash (a read, not a parse). The same text is never parsed twice in a row either (a `touch`,
 * a checkout that writes the same bytes).
 *
 * One cache per folder: `retain` drops the files a listing no longer has, so it holds no more
 * entries than there are files.
 *
 * @example
 * const cache = new ParseCache<ParseResult>();
 * cache.retain(files);
 * const result = await cache.get(file, readText, (text) => parseWorkflowFile(text, file));
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

/** a file's text, or why it cannot be read */
export type FileText = { text: string } | { reason: string };

export interface ParseCacheOptions {
	/** how long after a file's last change its stat alone is not trusted (default RACY_MS) */
	racyMs?: number;
	/** the wall clock file times are compared with (specs move it) */
	now?: () => number;
}

/** longer than the coarsest file times in common use (FAT keeps mtime to 2 s) */
export const RACY_MS = 3_000;

interface Version {
	dev: bigint;
	ino: bigint;
	size: bigint;
	mtimeNs: bigint;
	ctimeNs: bigint;
}

interface Entry<T> {
	/** the stat taken before `hash`'s text was read (the text may be newer, never older) */
	version: Version;
	hash: string;
	value: T;
	/** any later write changes the stat: the last change was long enough before it was taken */
	settled: boolean;
}

export class ParseCache<T> {
	#entries = new Map<string, Entry<T>>();
	/**
	 * parses under way, by file and text hash: listings that meet the same text while it is parsed
	 * (a large file parses for a second, in a thread) wait for that parse, not each start one
	 */
	#parsing = new Map<string, Promise<T>>();
	#racyMs: number;
	#now: () => number;

	constructor(options: ParseCacheOptions = {}) {
		const { racyMs, now } = { racyMs: RACY_MS, now: Date.now, ...options };
		this.#racyMs = racyMs;
		this.#now = now;
	}

	/** files kept */
	get size(): number {
		return this.#entries.size;
	}

	/** Forgets every file but `files` (the ones removed or renamed away). */
	retain(files: ReadonlySet<string>): void {
		for (const file of this.#entries.keys()) if (!files.has(file)) this.#entries.delete(file);
	}

	/**
	 * What `parse` makes of `file`'s text, as kept while the file is unchanged. `parse` must
	 * depend on the text alone (and on `file`): its value is handed out again, shared, and frozen
	 * (deeply), so a caller that changes it fails at once instead of changing it for the next.
	 * What cannot be read (`{ reason }`) is returned and not kept.
	 */
	async get(
		file: string,
		read: (file: string) => Promise<FileText>,
		parse: (text: string) => T | Promise<T>
	): Promise<T | { reason: string }> {
		const lookedAt = this.#now();
		const version = await versionOf(file);
		const known = this.#entries.get(file);
		if (version && known?.settled && sameVersion(known.version, version)) return known.value;

		const got = await read(file);
		if ('reason' in got || !version) {
			this.#entries.delete(file);
			return 'reason' in got ? got : parse(got.text);
		}
		const hash = createHash('sha256').update(got.text).digest('base64');
		// looked up again: a listing running beside this one may have parsed the same text meanwhile
		const latest = this.#entries.get(file);
		const value = latest?.hash === hash ? latest.value : await this.#parseOnce(file, hash, got.text, parse);
		const changedNs = version.ctimeNs > version.mtimeNs ? version.ctimeNs : version.mtimeNs;
		const settled = Number(changedNs / 1_000_000n) < lookedAt - this.#racyMs;
		// a listing that read a newer text while this one parsed has stored it: keep that
		if (this.#entries.get(file) === latest) this.#entries.set(file, { version, hash, value, settled });
		return value;
	}

	/** `parse(text)`, frozen; one parse at a time per file and text, shared by whoever asks meanwhile */
	#parseOnce(file: string, hash: string, text: string, parse: (text: string) => T | Promise<T>): Promise<T> {
		const key = `${file}\u0000${hash}`;
		let parsing = this.#parsing.get(key);
		if (!parsing) {
			parsing = Promise.resolve()
				.then(() => parse(text))
				.then((value) => deepFreeze(value))
				.finally(() => this.#parsing.delete(key));
			this.#parsing.set(key, parsing);
		}
		return parsing;
	}
}

/** null for what is not a regular file (or a link to one), which is never kept */
async function versionOf(file: string): Promise<Version | null> {
	try {
		const stat = await fs.stat(file, { bigint: true });
		if (!stat.isFile()) return null;
		const { dev, ino, size, mtimeNs, ctimeNs } = stat;
		return { dev, ino, size, mtimeNs, ctimeNs };
	} catch {
		return null;
	}
}

function sameVersion(a: Version, b: Version): boolean {
	return (
		a.dev === b.dev &&
		a.ino === b.ino &&
		a.size === b.size &&
		a.mtimeNs === b.mtimeNs &&
		a.ctimeNs === b.ctimeNs
	);
}

/** `value` with every object and array in it frozen */
function deepFreeze<T>(value: T): T {
	if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
	Object.freeze(value);
	for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
	return value;
}
