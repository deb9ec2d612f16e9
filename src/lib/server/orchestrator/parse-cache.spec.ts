import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParseCache, RACY_MS, type FileText } from './parse-cache';

let dir: string;
let reads: number;
let parses: number;

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-parse-cache-'));
	reads = 0;
	parses = 0;
});

afterEach(() => {
	fs.rmSync(dir, { recursive: true, force: true });
});

async function read(file: string): Promise<FileText> {
	reads++;
	try {
		return { text: await fs.promises.readFile(file, 'utf8') };
	} catch (err) {
		return { reason: (err as Error).message };
	}
}

function parse(text: string): string {
	parses++;
	return text.toUpperCase();
}

/** a clock an hour ahead: every file's last change is long past, so its stat is trusted */
const later = () => Date.now() + 3_600_000;

/** an mtime that stays the same over rewrites (whole seconds, so exact in every precision) */
const MTIME = 1_700_000_000;

function writeWithMtime(file: string, text: string): fs.BigIntStats {
	fs.writeFileSync(file, text);
	fs.utimesSync(file, MTIME, MTIME);
	return fs.statSync(file, { bigint: true });
}

describe('ParseCache', () => {
	it('parses a file once while it is unchanged and, once settled, does not even read it again', async () => {
		const file = path.join(dir, 'a.yml');
		fs.writeFileSync(file, 'one');
		const cache = new ParseCache<string>({ now: later });
		expect(await cache.get(file, read, parse)).toBe('ONE');
		expect(await cache.get(file, read, parse)).toBe('ONE');
		expect(await cache.get(file, read, parse)).toBe('ONE');
		expect({ reads, parses }).toEqual({ reads: 1, parses: 1 });
	});

	it('parses a text once for listings that meet it while its parse is under way (a slow one, in a thread)', async () => {
		const file = path.join(dir, 'a.yml');
		fs.writeFileSync(file, 'name: a');
		const cache = new ParseCache<{ text: string }>({ now: later });
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		let slowParses = 0;
		const slowParse = async (text: string) => {
			slowParses++;
			await gate;
			return { text };
		};
		let readsDone = 0;
		const readAll = async (name: string) => {
			const text = await read(name);
			readsDone++;
			return text;
		};
		const listings = [1, 2, 3].map(() => cache.get(file, readAll, slowParse));
		// every listing has read the text (and so, a turn later, meets the parse under way)
		await until(() => readsDone === 3);
		await new Promise((resolve) => setImmediate(resolve));
		release();
		const values = await Promise.all(listings);
		expect(slowParses).toBe(1);
		expect(new Set(values).size).toBe(1);
		expect(Object.isFrozen(values[0])).toBe(true);
	});

	it('hands out its values frozen, so a caller cannot change what the next one gets', async () => {
		const file = path.join(dir, 'a.yml');
		fs.writeFileSync(file, 'one');
		const cache = new ParseCache<{ steps: { env: Record<string, string> }[] }>({ now: later });
		const parseSteps = (text: string) => ({ steps: [{ env: { TEXT: text } }] });
		const first = await cache.get(file, read, parseSteps);
		if ('reason' in first) throw new Error(first.reason);
		expect(() => {
			first.steps[0]!.env.TEXT = 'changed';
		}).toThrow(TypeError);
		expect(() => first.steps.push({ env: {} })).toThrow(TypeError);
		expect(await cache.get(file, read, parseSteps)).toEqual({ steps: [{ env: { TEXT: 'one' } }] });
	});

	it('reads a file changed moments ago again on every look, but parses the same text only once', async () => {
		// a write within the same tick of the file system's clock would leave the stat as it is
		const file = path.join(dir, 'a.yml');
		fs.writeFileSync(file, 'one');
		const cache = new ParseCache<string>();
		expect(await cache.get(file, read, parse)).toBe('ONE');
		expect(await cache.get(file, read, parse)).toBe('ONE');
		expect({ reads, parses }).toEqual({ reads: 2, parses: 1 });
	});

	it('notices a rewrite in place with the same size and mtime by its ctime', async () => {
		const file = path.join(dir, 'a.yml');
		const before = writeWithMtime(file, 'aaaa');
		const cache = new ParseCache<string>({ now: later });
		expect(await cache.get(file, read, parse)).toBe('AAAA');

		let after = writeWithMtime(file, 'bbbb');
		// the ctime moves with the file system's clock tick (a few ms): write until it has
		while (after.ctimeNs === before.ctimeNs) after = writeWithMtime(file, 'bbbb');
		expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);

		expect(await cache.get(file, read, parse)).toBe('BBBB');
		expect(parses).toBe(2);
	});

	it('notices a file replaced by a rename with the same size and mtime', async () => {
		const file = path.join(dir, 'a.yml');
		writeWithMtime(file, 'aaaa');
		const cache = new ParseCache<string>({ now: later });
		expect(await cache.get(file, read, parse)).toBe('AAAA');

		writeWithMtime(path.join(dir, 'a.yml.tmp'), 'bbbb');
		fs.renameSync(path.join(dir, 'a.yml.tmp'), file);
		expect(await cache.get(file, read, parse)).toBe('BBBB');
	});

	it('does not parse again a file touched without new text', async () => {
		const file = path.join(dir, 'a.yml');
		writeWithMtime(file, 'same');
		const cache = new ParseCache<string>({ now: later });
		await cache.get(file, read, parse);
		fs.utimesSync(file, MTIME + 60, MTIME + 60);
		expect(await cache.get(file, read, parse)).toBe('SAME');
		expect({ reads, parses }).toEqual({ reads: 2, parses: 1 });
	});

	it('keeps nothing for a file that cannot be read and asks again each time', async () => {
		const file = path.join(dir, 'gone.yml');
		const cache = new ParseCache<string>({ now: later });
		expect(await cache.get(file, read, parse)).toEqual({ reason: expect.stringContaining('ENOENT') });
		expect(await cache.get(file, read, parse)).toEqual({ reason: expect.stringContaining('ENOENT') });
		expect({ reads, parses, size: cache.size }).toEqual({ reads: 2, parses: 0, size: 0 });
	});

	it('forgets the files it is not told to retain, and parses them again if they come back', async () => {
		const a = path.join(dir, 'a.yml');
		const b = path.join(dir, 'b.yml');
		fs.writeFileSync(a, 'a');
		fs.writeFileSync(b, 'b');
		const cache = new ParseCache<string>({ now: later });
		await cache.get(a, read, parse);
		await cache.get(b, read, parse);
		expect(cache.size).toBe(2);

		cache.retain(new Set([b]));
		expect(cache.size).toBe(1);
		await cache.get(a, read, parse);
		await cache.get(b, read, parse);
		expect(parses).toBe(3);
	});

	it('trusts the stat only once the last change is RACY_MS old', async () => {
		const file = path.join(dir, 'a.yml');
		fs.writeFileSync(file, 'one');
		const { ctimeNs, mtimeNs } = fs.statSync(file, { bigint: true });
		const changedAt = Number((ctimeNs > mtimeNs ? ctimeNs : mtimeNs) / 1_000_000n);
		let now = changedAt + RACY_MS - 1;
		const cache = new ParseCache<string>({ now: () => now });
		await cache.get(file, read, parse);
		await cache.get(file, read, parse);
		expect(reads).toBe(2);

		now = changedAt + RACY_MS + 1;
		await cache.get(file, read, parse);
		await cache.get(file, read, parse);
		await cache.get(file, read, parse);
		expect({ reads, parses }).toEqual({ reads: 3, parses: 1 });
	});
});

/** resolves once `condition` holds, looking again after each I/O turn */
async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
