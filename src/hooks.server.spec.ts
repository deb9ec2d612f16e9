import type { RequestEvent } from '@sveltejs/kit';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { handleError } from './hooks.server';
import type { AcoContext } from '$lib/server/context';
import { setContext } from '$lib/server/global';

function capture() {
	const lines: string[] = [];
	const logger = pino(
		{ level: 'debug', base: { app: 'aco' } },
		{ write: (line: string) => void lines.push(line) }
	);
	return { logger, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function eventFor(path: string, aco?: AcoContext): RequestEvent {
	const url = new URL(`http://127.0.0.1:3000${path}`);
	return { request: new Request(url, { method: 'POST' }), url, locals: { aco } } as unknown as RequestEvent;
}

describe('handleError', () => {
	afterEach(() => setContext(undefined));

	it("logs an unexpected error as one JSON line through the context's logger, and tells the client nothing of it", async () => {
		const { logger, entries } = capture();
		const error = new TypeError('secret detail at /srv/aco/internal.ts');
		const answer = await handleError({
			error,
			event: eventFor('/signin', { logger } as AcoContext),
			status: 500,
			message: 'Internal Error'
		});
		expect(answer).toEqual({ message: 'The server hit an unexpected error.', code: 'internal' });
		expect(JSON.stringify(answer)).not.toContain('secret');
		expect(entries()).toEqual([
			expect.objectContaining({
				level: 50,
				app: 'aco',
				method: 'POST',
				path: '/signin',
				status: 500,
				msg: 'POST /signin failed',
				err: expect.objectContaining({ type: 'TypeError', message: error.message }) as unknown
			})
		]);
	});

	it('logs what a request got wrong (no such page, a malformed path) at debug, with the message SvelteKit gives', async () => {
		const { logger, entries } = capture();
		// before the access check let the request through, only the context is there
		setContext({ logger } as AcoContext);
		const answer = await handleError({
			error: new Error('Not found: /nowhere'),
			event: eventFor('/nowhere'),
			status: 404,
			message: 'Not Found'
		});
		expect(answer).toEqual({ message: 'Not Found' });
		expect(entries()).toEqual([
			expect.objectContaining({ level: 20, path: '/nowhere', status: 404, msg: 'POST /nowhere: Not Found' })
		]);
	});
});
