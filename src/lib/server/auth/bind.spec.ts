import { describe, expect, it } from 'vitest';
import { assertSafeBinding } from './bind';

describe('binding without credentials', () => {
	it('is allowed on loopback only', () => {
		for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2'])
			expect(() => assertSafeBinding(host, 0)).not.toThrow();
	});

	it('refuses any other address, saying how to configure credentials', () => {
		for (const host of ['0.0.0.0', '::', '192.168.1.20', 'aco.example.com']) {
			expect(() => assertSafeBinding(host, 0)).toThrow(
				/refusing to listen on .* without credentials.*ACO_TOKEN=.*ACO_TOKENS_FILE/
			);
		}
		expect(() => assertSafeBinding('0.0.0.0', 1)).not.toThrow();
	});
});
