import { describe, expect, it } from 'vitest';
import { elapsedMs, formatCount, formatDuration, plural, statusLabel } from './format';

describe('format', () => {
	it('writes durations the way people read them', () => {
		expect(formatDuration(null)).toBe('—');
		expect(formatDuration(850)).toBe('850 ms');
		expect(formatDuration(4_250)).toBe('4.3 s');
		expect(formatDuration(42_000)).toBe('42 s');
		expect(formatDuration(125_000)).toBe('2 min 05 s');
		expect(formatDuration(3_720_000)).toBe('1 h 02 min');
	});

	it('measures a running record up to now and a finished one by its duration', () => {
		const started_at = '2030-01-01T00:00:00.000Z';
		expect(elapsedMs({ started_at, duration_ms: null }, Date.parse(started_at) + 3000)).toBe(3000);
		expect(elapsedMs({ started_at, duration_ms: 1234 }, Date.parse(started_at) + 9000)).toBe(1234);
		expect(elapsedMs({ started_at: null, duration_ms: null }, 0)).toBeNull();
	});

	it('names statuses in words and counts with separators', () => {
		expect(statusLabel('failed')).toBe('Failed');
		expect(formatCount(12345)).toBe('12,345');
		expect(plural(1, 'line')).toBe('1 line');
		expect(plural(5000, 'line')).toBe('5,000 lines');
	});
});
