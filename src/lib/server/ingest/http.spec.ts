import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { StoreDataError } from '../store/errors';
import { handleIngest } from './http';
import { IngestError } from './ingest-error';

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

	it('says when to try again after a retryable 503, and only then', async () => {
		const logger = createLogger('silent');
		const unavailable = new IngestError(503, 'masks_unavailable', 'Redis cannot be reached.');
		const res = await handleIngest(() => Promise.reject(unavailable), logger, 'ingest events');
		expect(res.status).toBe(503);
		expect(res.headers.get('retry-after')).toBe('2');
		const invalid = new IngestError(400, 'invalid_request', 'Invalid event.');
		const refused = await handleIngest(() => Promise.reject(invalid), logger, 'ingest events');
		expect(refused.status).toBe(400);
		expect(refused.headers.get('retry-after')).toBeNull();
	});
});
