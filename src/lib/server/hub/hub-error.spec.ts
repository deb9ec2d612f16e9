import { describe, expect, it } from 'vitest';
import { HubError } from './hub-error';

describe('HubError', () => {
	it('carries a code, a close code, whether to retry, and its cause', () => {
		const cause = new Error('disk full');
		const err = HubError.internal(cause);
		expect(err).toBeInstanceOf(Error);
		expect(err.name).toBe('HubError');
		expect(err.code).toBe('internal');
		expect(err.closeCode).toBeNull();
		expect(err.retryable).toBe(true);
		expect(err.cause).toBe(cause);
	});

	it('defaults to an error that keeps the connection open and is not worth retrying', () => {
		const err = new HubError('x', 'y');
		expect(err.closeCode).toBeNull();
		expect(err.retryable).toBe(false);
		expect(err.cause).toBeUndefined();
	});

	it('becomes the payload of an error reply, with the ref only when there is one', () => {
		const err = HubError.binaryFrame();
		expect(err.toErrorData('abc')).toEqual({
			code: 'binary_not_supported',
			message: err.message,
			retryable: false,
			ref: 'abc'
		});
		expect(err.toErrorData()).not.toHaveProperty('ref');
	});

	it('says what was wrong and how to fix it', () => {
		expect(HubError.tooManySubscriptions(32).message).toMatch(/32 subscriptions.*Unsubscribe/);
		expect(HubError.unknownSubscription('b', ['a']).message).toMatch(/"b".*held: "a".*omit "sub"/);
		expect(HubError.unknownSubscription('b', []).message).toContain('held: none');
		expect(HubError.overCapacity(10, 5)).toMatchObject({ closeCode: 1013, retryable: true });
		expect(HubError.overCapacity(10, 5).message).toMatch(/10 WebSocket connections.*Retry in 5 s/);
		expect(HubError.shuttingDown()).toMatchObject({ closeCode: 1001, retryable: true });
	});

	it('wraps a validation failure without changing its code or message', () => {
		const err = HubError.fromErrorData({ code: 'invalid_json', message: 'bad', retryable: false });
		expect(err).toMatchObject({ code: 'invalid_json', message: 'bad', retryable: false, closeCode: null });
	});
});
