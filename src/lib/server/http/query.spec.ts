import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { afterParam, limitParam, parseQuery } from './query';
import { ApiError } from './responses';

const parse = (search: string) =>
	parseQuery(new URL(`http://aco.test/api/v1/tasks?${search}`), {
		run_id: z.string().max(128).optional(),
		after: afterParam,
		limit: limitParam
	});

function refusal(search: string): ApiError {
	try {
		parse(search);
	} catch (err) {
		if (err instanceof ApiError) return err;
		throw err;
	}
	throw new Error(`"${search}" was accepted`);
}

describe('parseQuery', () => {
	it('parses the parameters of the shape, coercing numbers and ignoring empty and unknown ones', () => {
		expect(parse('run_id=run_1&after=3000000000&limit=&other=x')).toEqual({ run_id: 'run_1', after: 3e9 });
	});

	it('refuses a parameter with a NUL character in it with a 400 naming the parameter', () => {
		for (const search of ['run_id=%00', 'run_id=run_1%00', 'after=1%00']) {
			expect(refusal(search)).toMatchObject({
				status: 400,
				code: 'invalid_query',
				message: expect.stringMatching(/^Query parameter "(run_id|after)" contains a NUL character/)
			});
		}
	});

	it('refuses a value its schema refuses with a 400 naming the parameter', () => {
		expect(refusal('limit=0')).toMatchObject({ status: 400, message: expect.stringContaining('"limit"') });
	});
});
