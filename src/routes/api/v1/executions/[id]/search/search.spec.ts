import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogLine } from '$lib/protocol';
import { createLogger } from '$lib/server/logger';
import { LogSearcher, type LogSearchOptions } from '$lib/server/store/log-search';
import { openSqliteStore } from '$lib/server/store/sqlite-store';
import { createStandaloneTask, createTestExecution } from '$lib/server/store/test-records';
import type { Store } from '$lib/server/store/types';
import { GET } from './+server';

const LINES = 20_000;

describe('GET /api/v1/executions/:id/search', () => {
	let store: Store;
	let executionId: string;

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
		await store.close();
	});

	function search(searchStore: Store, options: LogSearchOptions, signal?: AbortSignal): Promise<Response> {
		const url = new URL(`http://aco.test/api/v1/executions/${executionId}/search?q=line`);
		const event = {
			locals: {
				aco: {
					store: searchStore,
					searcher: new LogSearcher(searchStore, options),
					logger: createLogger('silent')
				}
			},
			params: { id: executionId },
			request: new Request(url, { signal }),
			url
		};
		return GET(event as unknown as Parameters<typeof GET>[0]) as Promise<Response>;
	}

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
});
