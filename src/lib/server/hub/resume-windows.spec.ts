import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResumeWindows } from './resume-windows';

describe('ResumeWindows', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	const holders = () => {
		const ended: string[] = [];
		const holder = (name: string) => ({ endResumeWindow: () => void ended.push(name) });
		return { ended, holder };
	};

	it('ends each window its length after it opened (within a tenth more), oldest first, and keeps no timer once all have ended', () => {
		const windows = new ResumeWindows(100, () => Date.now());
		const { ended, holder } = holders();
		windows.open(holder('a'));
		vi.advanceTimersByTime(45);
		windows.open(holder('b'));
		windows.open(holder('c'));
		vi.advanceTimersByTime(54);
		expect(ended).toEqual([]);
		vi.advanceTimersByTime(1);
		expect(ended).toEqual(['a']);
		// b and c are due at 145: not before, and by the next tick
		vi.advanceTimersByTime(44);
		expect(ended).toEqual(['a']);
		vi.advanceTimersByTime(10);
		expect(ended).toEqual(['a', 'b', 'c']);
		expect(windows.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
		// and ticks again for a window opened later
		windows.open(holder('d'));
		vi.advanceTimersByTime(99);
		expect(ended).toEqual(['a', 'b', 'c']);
		vi.advanceTimersByTime(11);
		expect(ended).toEqual(['a', 'b', 'c', 'd']);
	});

	it('forgets every waiting window when stopped', () => {
		const windows = new ResumeWindows(100, () => Date.now());
		const { ended, holder } = holders();
		windows.open(holder('a'));
		windows.open(holder('b'));
		windows.stop();
		windows.stop();
		vi.advanceTimersByTime(500);
		expect(ended).toEqual([]);
		expect([windows.size, vi.getTimerCount()]).toEqual([0, 0]);
	});

	it('still ends the later windows when ending one throws', () => {
		const windows = new ResumeWindows(100, () => Date.now());
		const { ended, holder } = holders();
		windows.open({
			endResumeWindow: () => {
				throw new Error('broken session');
			}
		});
		vi.advanceTimersByTime(10);
		windows.open(holder('b'));
		expect(() => vi.advanceTimersByTime(90)).toThrow('broken session');
		vi.advanceTimersByTime(10);
		expect(ended).toEqual(['b']);
	});
});
