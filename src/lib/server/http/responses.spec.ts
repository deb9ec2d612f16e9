import { describe, expect, it } from 'vitest';
import { StoreDataError, StoreUnavailableError } from '../store/errors';
import { ApiError, handle } from './responses';

describe('handle', () => {
	it('answers what a route threw as the API promises: its own error, a retryable outage, a shutdown, a value no retry stores, else a bare 500', async () => {
		const seen: unknown[] = [];
		const answer = async (err: unknown) => {
			const res = await handle(
				() => {
					throw err;
				},
				(e) => seen.push(e)
			);
			return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
		};
		expect(await answer(new ApiError(404, 'not_found', 'No such task.'))).toMatchObject({
			status: 404,
			body: { error: { code: 'not_found', message: 'No such task.' } }
		});
		expect(await answer(new StoreUnavailableError(new Error('ECONNREFUSED')))).toMatchObject({
			status: 503,
			retryAfter: '2'
		});
		const data = await answer(
			new StoreDataError(new Error('value "3000000000" is out of range for type integer'))
		);
		expect(data).toMatchObject({ status: 422, retryAfter: null, body: { error: { code: 'invalid_data' } } });
		expect(data.body.error.message).toMatch(/out of range for type integer/);
		const closing = Object.assign(new Error('The server is shutting down; try again once it is back.'), {
			code: 'shutting_down'
		});
		expect(await answer(closing)).toMatchObject({
			status: 503,
			body: { error: { code: 'shutting_down', message: closing.message } }
		});
		const internal = await answer(new Error('SELECT … failed at /srv/aco/secret.ts'));
		expect(internal).toMatchObject({ status: 500, body: { error: { code: 'internal' } } });
		expect(JSON.stringify(internal.body)).not.toMatch(/secret|SELECT/);
		// the unexpected ones are logged by the caller: the data error and the bare one
		expect(seen).toHaveLength(2);
	});
});
