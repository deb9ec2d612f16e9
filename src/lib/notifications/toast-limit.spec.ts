import { describe, expect, it } from 'vitest';
import { toastsOverLimit } from './toast-limit';

const t = (id: string, type: 'error' | 'success' | 'blank', createdAt: number, visible = true) => ({
	id,
	type,
	createdAt,
	visible
});

describe('toastsOverLimit', () => {
	it('keeps at most three on screen, dropping successes before failures, oldest first', () => {
		expect(toastsOverLimit([t('a', 'error', 1), t('b', 'success', 2), t('c', 'error', 3)], 3)).toEqual([]);
		expect(
			toastsOverLimit([t('a', 'error', 1), t('b', 'success', 2), t('c', 'error', 3), t('d', 'error', 4)], 3)
		).toEqual(['b']);
		expect(
			toastsOverLimit(
				[t('a', 'error', 1), t('b', 'error', 2), t('c', 'error', 3), t('d', 'error', 4), t('e', 'blank', 5)],
				3
			)
		).toEqual(['e', 'a']);
		expect(
			toastsOverLimit([t('a', 'blank', 1), t('b', 'success', 2), t('c', 'error', 3), t('d', 'error', 4)], 3)
		).toEqual(['b']);
	});

	it('does not count toasts already on their way out', () => {
		expect(
			toastsOverLimit(
				[t('a', 'error', 1, false), t('b', 'error', 2), t('c', 'error', 3), t('d', 'error', 4)],
				3
			)
		).toEqual([]);
	});
});
