import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogLine } from '$lib/protocol';
import type { Principal } from '$lib/server/auth/principal';
import { createLogger } from '$lib/server/logger';
import { LogSearcher, type LogSearchOptions } from '$lib/server/store/log-search';
import type { RegexPool } from '$lib/server/store/regex-pool';
import { lineMatches, matchingLines } from '$lib/server/store/search-match';
import { openSqliteStore } from '$lib/server/store/sqlite-store';
import { createStandaloneTask, createTestExecution } from '$lib/server/store/test-records';
import type { Store } from '$lib/server/store/types';
import { GET } from './+server';

const LINES = 20_000;

const viewer = (tokenId: string): Principal => ({ role: 'viewer', via: 'token', name: tokenId, tokenId });
/** a browser session signed in with token `tokenId` */
const signedIn = (tokenId: string, sessionId: string): Principal => ({
	...viewer(tokenId),
	via: 'session',
	sessionId
});

/** a pool that matches on this thread, chunks of patterns starting `line` once `open` resolves */
function gatedPool(open: Promise<void>) {
	const calls = { entered: 0 };
	const pool: RegexPool = {
		timeLimitMs: 1_000,
		async matchingLines(re, lines) {
			if (re.source.startsWith('line')) {
				calls.entered++;
				await open;
			}
			return matchingLines(re, lines);
		},
		lineMatches: async (re, lines) => lineMatches(re, lines),
		close: async () => {}
	};
	return { pool, calls };
}

describe('GET /api/v1/executions/:id/search', () => {
	let store: Store;
	let executionId: string;
	const searchers: LogSearcher[] = [];

	beforeEach(async () => {
		store = openSqliteStore('', { filename: ':memory:' });
		const task = await createStandaloneTask(store);
		executionId = (await createTestExecution(store, task.id)).id;
		const lines: LogLine[] = Array.from({ length: LINES }, (_, i) => ({
			n: i + 1,
			stream: 'stdout',
			ts: '2024-01-01T00:00:00.000Z',
			text: `line ${i + 1}`
		}));
		await store.appendLogLines(executionId, lines);
	});
	afterEach(async () => {
		await Promise.all(searchers.splice(0).map((s) => s.close()));
		await store.close();
	});

	function searcherOf(searchStore: Store, options: LogSearchOptions): LogSearcher {
		const searcher = new LogSearcher(searchStore, options);
		searchers.push(searcher);
		return searcher;
	}

	function request(
		searchStore: Store,
		searcher: LogSearcher,
		options: { signal?: AbortSignal; query?: string; principal?: Principal | null } = {}
	): Promise<Response> {
		const url = new URL(
			`http://aco.test/api/v1/executions/${executionId}/search?${options.query ?? 'q=line'}`
		);
		const event = {
			locals: {
				aco: { store: searchStore, searcher, logger: createLogger('silent') },
				principal: options.principal ?? null
			},
			params: { id: executionId },
			request: new Request(url, { signal: options.signal }),
			url,
			getClientAddress: () => '127.0.0.1'
		};
		return GET(event as unknown as Parameters<typeof GET>[0]) as Promise<Response>;
	}

	const search = (searchStore: Store, options: LogSearchOptions, signal?: AbortSignal) =>
		request(searchStore, searcherOf(searchStore, options), { signal });

	it('stops scanning the log when the client goes away', async () => {
		const client = new AbortController();
		let chunks = 0;
		const counting = new Proxy(store, {
			get(target, prop) {
				if (prop === 'scanLogText') {
					return async function* (...args: Parameters<Store['scanLogText']>) {
						for await (const chunk of target.scanLogText(...args)) {
							if (++chunks === 2) client.abort();
							yield chunk;
						}
					};
				}
				const value: unknown = Reflect.get(target, prop);
				return typeof value === 'function' ? value.bind(target) : value;
			}
		});
		const response = await search(counting, { chunkLines: 1_000 }, client.signal);
		expect(response.status).toBe(499);
		expect(chunks).toBe(2);
	});

	it('answers search_timeout when the search is over its time budget', async () => {
		const response = await search(store, { chunkLines: 1_000, timeoutMs: 0 });
		expect(response.status).toBe(400);
		expect((await response.json()).error.code).toBe('search_timeout');
	});

	it('refuses a regex search past the caller’s share with 429 and past the node’s with 503, both with Retry-After', async () => {
		let open!: () => void;
		const { pool, calls } = gatedPool(new Promise<void>((resolve) => (open = resolve)));
		const searcher = searcherOf(store, { pool, regexSearchesPerCaller: 1, regexSearches: 2 });
		const regex = (principal: Principal, q = 'line') =>
			request(store, searcher, { principal, query: `regex=1&q=${encodeURIComponent(q)}` });

		const first = regex(viewer('a'));
		await expect.poll(() => calls.entered).toBe(1);
		const own = await regex(viewer('a'), 'line 1');
		expect(own.status).toBe(429);
		expect(own.headers.get('retry-after')).toBe('1');
		expect((await own.json()).error.code).toBe('too_many_searches');

		const other = regex(viewer('b'), 'line 2');
		await expect.poll(() => calls.entered).toBe(2);
		const third = await regex(viewer('c'), 'line 3');
		expect(third.status).toBe(503);
		expect(third.headers.get('retry-after')).toBe('1');
		expect((await third.json()).error.code).toBe('search_busy');
		// plain text takes no share
		expect((await request(store, searcher, { principal: viewer('a'), query: 'q=ine 7' })).status).toBe(200);

		open();
		expect((await first).status).toBe(200);
		expect(((await (await other).json()) as { total: number }).total).toBe(1_112);
		// the shares are given back when the searches end
		expect((await regex(viewer('a'), 'line 1')).status).toBe(200);
		expect((await regex(viewer('c'), 'line 3')).status).toBe(200);
	});

	it('gives the sessions of one token and the token itself one share of regex searches, not one each', async () => {
		let open!: () => void;
		const { pool, calls } = gatedPool(new Promise<void>((resolve) => (open = resolve)));
		const searcher = searcherOf(store, { pool, regexSearchesPerCaller: 1, regexSearches: 4 });
		const regex = (principal: Principal, q: string) =>
			request(store, searcher, { principal, query: `regex=1&q=${encodeURIComponent(q)}` });

		/** the answer, or 'admitted' once the search waits at the gate (it was given a share) */
		async function answerOrAdmitted(answer: Promise<Response>): Promise<Response | 'admitted'> {
			const entered = calls.entered;
			let timer: NodeJS.Timeout | undefined;
			const admitted = new Promise<'admitted'>((resolve) => {
				timer = setInterval(() => calls.entered > entered && resolve('admitted'), 5);
			});
			try {
				return await Promise.race([answer, admitted]);
			} finally {
				clearInterval(timer);
			}
		}

		const first = regex(signedIn('a', 'session-1'), 'line 1');
		await expect.poll(() => calls.entered).toBe(1);
		// signing in again with the same token, or using the token itself, gets no second share
		for (const principal of [signedIn('a', 'session-2'), viewer('a')]) {
			const refused = await answerOrAdmitted(regex(principal, 'line 2'));
			expect(refused, principal.via).not.toBe('admitted');
			expect((refused as Response).status).toBe(429);
			expect((await (refused as Response).json()).error.code).toBe('too_many_searches');
		}
		// another token's session has its own
		const other = regex(signedIn('b', 'session-3'), 'line 3');
		await expect.poll(() => calls.entered).toBe(2);
		open();
		expect((await first).status).toBe(200);
		expect((await other).status).toBe(200);
	});
});
