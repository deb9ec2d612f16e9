/**
 * @module routes/system/figures
 * The /system page's figures in words: counts, rates, durations, shares and sizes. A number and
 * its unit are joined by a no-break space, so a line never ends between "125" and "%".
 */
import { formatCount } from '$lib/components/format';

/** joins a number and its unit so they wrap as one word */
export const NBSP = '\u00a0';

export const count = (n: number): string => formatCount(Math.round(n));

/** "1.5/s", "12/s", "1,250/s" */
export const perSecond = (n: number): string => `${n >= 100 ? count(n) : n.toFixed(n >= 10 ? 0 : 1)}/s`;

/** "4.2 ms", "120 ms" */
export const ms = (n: number): string => `${n >= 100 ? Math.round(n) : n.toFixed(1)}${NBSP}ms`;

/** a ratio as a share: 1.25 is "125 %" */
export const percent = (n: number): string => `${Math.round(n * 100)}${NBSP}%`;

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** "512 B", "1.2 kB", "129 MB" (powers of 1,000) */
export function bytes(n: number): string {
	let value = n;
	let unit = 0;
	while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
		value /= 1000;
		unit++;
	}
	return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)}${NBSP}${BYTE_UNITS[unit]}`;
}

export const bytesPerSecond = (n: number): string => `${bytes(n)}/s`;
