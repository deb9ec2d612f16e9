import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { StoreDataError } from '../store/errors';
import { handleIngest } from './http';

describe('handleIngest', () => {
	it('answers a value the database refused with 422 invalid_data naming it, not a 500 a producer resends', async () => {
		const refused = new StoreDataError(
			Object.assign(new Error('value "3000000000" is out of range for type integer'), { code: '22003' })
		);
		const res = await handleIngest(() => Promise.reject(refused), createLogger('silent'), 'ingest events');
		expect(res.status).toBe(422);
		expect(await res.json()).toEqual({
			error: { code: 'invalid_data', message: expect.stringContaining('"3000000000" is out of range') }
		});
	});
});
