import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, CloseCode, shouldReconnect } from './close-codes';

describe('close codes', () => {
	it('documents every code the server uses', () => {
		for (const code of Object.values(CloseCode)) {
			expect(CLOSE_CODES[code]?.description.length).toBeGreaterThan(10);
		}
	});

	it('tells clients to reconnect in the 4000–4499 range and not in 4500–4999', () => {
		expect(shouldReconnect(CloseCode.IDLE_TIMEOUT)).toBe(true);
		expect(shouldReconnect(CloseCode.SLOW_CONSUMER)).toBe(true);
		expect(shouldReconnect(4499)).toBe(true);
		expect(shouldReconnect(CloseCode.UNAUTHORIZED)).toBe(false);
		expect(shouldReconnect(4999)).toBe(false);
		for (const info of Object.values(CLOSE_CODES)) {
			if (info.code >= 4000 && info.code < 4500) expect(info.reconnect).toBe(true);
			if (info.code >= 4500) expect(info.reconnect).toBe(false);
		}
	});

	it('reconnects after a restart or an abnormal drop, not after a normal close', () => {
		expect(shouldReconnect(1001)).toBe(true);
		expect(shouldReconnect(1006)).toBe(true);
		expect(shouldReconnect(1012)).toBe(true);
		expect(shouldReconnect(1000)).toBe(false);
	});
});
