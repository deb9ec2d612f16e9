import { describe, expect, it } from 'vitest';
import { isSuperseded } from './progress-line';
import type { LogLine } from './types';

function line(n: number, text: string, partial = false): LogLine {
	return { n, stream: 'stdout', ts: '2030-01-01T00:00:00.000Z', text, ...(partial ? { partial: true } : {}) };
}

describe('isSuperseded', () => {
	it('mutes a progress snapshot once a later line continues it', () => {
		expect(isSuperseded(line(4, ' 40%|####', true), 5)).toBe(true);
		expect(isSuperseded(line(4, 'downloading 40%\r'), 5)).toBe(true);
	});

	it('draws the newest snapshot normally: it is the bar as it stands now', () => {
		expect(isSuperseded(line(5, ' 40%|####', true), 5)).toBe(false);
		expect(isSuperseded(line(5, 'downloading 40%\r'), 5)).toBe(false);
	});

	it('leaves complete lines and missing lines alone', () => {
		expect(isSuperseded(line(1, 'compiled'), 9)).toBe(false);
		expect(isSuperseded(line(1, '\r100%|##########|'), 9)).toBe(false);
		expect(isSuperseded(undefined, 9)).toBe(false);
	});
});
