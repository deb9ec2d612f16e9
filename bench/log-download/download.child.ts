/**
 * @module bench/log-download/download.child
 * One log download, measured in a fresh process so its memory figures start from a clean heap:
 * through `logStream` on this thread (aco before the read pool), through the read pool's
 * worker threads (`pool`, as the server reads SQLite downloads), or by reading every page with
 * `readLogLines` into one string first (baseline). Memory is sampled after every chunk or page; the growth reported is
 * the peak minus what the process held, after a full collection, just before the download.
 * In `live` runs every tenth sample (and the last) follows a full collection, so the peak is
 * what the download really holds rather than garbage V8 has not collected yet; those runs are
 * not timed.
 *
 * argv: <data dir> <execution id> <'stream' | 'pool' | 'whole'> <'observed' | 'live'>
 */
import path from 'node:path';
import { createReadPool } from '../../src/lib/server/downloads/read-pool';
import type { LogReader } from '../../src/lib/server/downloads/log-reader';
import { formatLines, logStream } from '../../src/lib/server/http/log-stream';
import { createLogger } from '../../src/lib/server/logger';
import { MAX_READ_LIMIT, openSqliteStore } from '../../src/lib/server/store/sqlite-store';
import type { Store } from '../../src/lib/server/store/types';
import { runInChild } from '../lib/child';
import { collectGarbage, MB } from '../lib/stats';

export type DownloadMode = 'stream' | 'pool' | 'whole';
export type Sampling = 'observed' | 'live';

export interface DownloadResult {
	ok: 'result';
	bytes: number;
	seconds: number;
	rssGrowthMB: number;
	/** V8 heap plus memory outside it (Buffers, typed arrays) */
	heapGrowthMB: number;
	exactGc: boolean;
	[key: string]: unknown;
}

/** a full collection costs milliseconds; one every few chunks still finds the peak */
const LIVE_SAMPLE_EVERY = 10;

class PeakMemory {
	readonly exactGc: boolean;
	#live: boolean;
	#calls = 0;
	#startRss: number;
	#startHeap: number;
	#peakRss: number;
	#peakHeap: number;

	constructor(live: boolean) {
		this.#live = live;
		this.exactGc = collectGarbage();
		const start = process.memoryUsage();
		this.#startRss = this.#peakRss = start.rss;
		this.#startHeap = this.#peakHeap = start.heapUsed + start.external;
	}

	/** `last`: the download is complete but its result is still referenced */
	sample(last = false): void {
		if (this.#live) {
			if (!last && ++this.#calls % LIVE_SAMPLE_EVERY !== 0) return;
			collectGarbage(1);
		}
		const now = process.memoryUsage();
		this.#peakRss = Math.max(this.#peakRss, now.rss);
		this.#peakHeap = Math.max(this.#peakHeap, now.heapUsed + now.external);
	}

	get rssGrowthMB(): number {
		return (this.#peakRss - this.#startRss) / MB;
	}

	get heapGrowthMB(): number {
		return (this.#peakHeap - this.#startHeap) / MB;
	}
}

/** aco: pull chunks from the ReadableStream into a sink that only counts them */
async function streamed(stream: ReadableStream<Uint8Array>, memory: PeakMemory): Promise<number> {
	const reader = stream.getReader();
	let bytes = 0;
	for (;;) {
		const { value, done } = await reader.read();
		if (done) return bytes;
		bytes += value.byteLength;
		memory.sample();
	}
}

/** baseline: every page into one string, encoded once, as a non-streaming handler would answer */
async function whole(store: Store, executionId: string, memory: PeakMemory): Promise<number> {
	let body = '';
	let after = 0;
	for (;;) {
		const page = await store.readLogLines(executionId, { after, limit: MAX_READ_LIMIT });
		if (page.length === 0) break;
		body += formatLines(page, 'text');
		after = page[page.length - 1].n;
		memory.sample();
	}
	const encoded = new TextEncoder().encode(body);
	memory.sample(true);
	return encoded.byteLength;
}

runInChild(async (): Promise<DownloadResult> => {
	const [dir, executionId, mode, sampling] = process.argv.slice(2);
	if (mode !== 'stream' && mode !== 'pool' && mode !== 'whole')
		throw new Error(`unknown download mode ${mode}`);
	if (sampling !== 'observed' && sampling !== 'live') throw new Error(`unknown sampling ${sampling}`);
	const store = openSqliteStore(dir);
	let pool: LogReader | null = null;
	try {
		if (mode === 'pool') {
			pool = createReadPool({ file: path.join(dir, 'aco.db'), workers: 1, logger: createLogger('silent') });
			// its thread started (and, from the sources, compiled) before the clock starts, as in a running server
			await new Response(pool.log(executionId, { format: 'text', after: 0, upTo: 1 })).arrayBuffer();
		}
		const memory = new PeakMemory(sampling === 'live');
		const started = performance.now();
		const bytes =
			mode === 'whole'
				? await whole(store, executionId, memory)
				: await streamed(
						pool?.log(executionId, { format: 'text' }) ?? logStream(store, executionId, { format: 'text' }),
						memory
					);
		const seconds = (performance.now() - started) / 1000;
		return {
			ok: 'result',
			bytes,
			seconds,
			rssGrowthMB: memory.rssGrowthMB,
			heapGrowthMB: memory.heapGrowthMB,
			exactGc: memory.exactGc
		};
	} finally {
		await pool?.close();
		await store.close();
	}
});
