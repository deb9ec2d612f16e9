import { describe, expect, it } from 'vitest';
import { compressionStats, deflateOptions } from './compression';

describe('compression', () => {
	it('turns permessage-deflate off for "none" and maps the other levels to zlib levels', () => {
		expect(deflateOptions({ level: 'none', thresholdBytes: 0, concurrency: 1 })).toBe(false);
		const levels = (['fast', 'default', 'best'] as const).map((level) => {
			const options = deflateOptions({ level, thresholdBytes: 512, concurrency: 3 });
			if (!options) throw new Error('expected options');
			expect(options).toMatchObject({ threshold: 512, concurrencyLimit: 3 });
			return options.zlibDeflateOptions?.level;
		});
		expect(levels).toEqual([1, -1, 9]);
	});

	it('reports the ratio of bytes after to bytes before', () => {
		const stats = compressionStats({ level: 'best', thresholdBytes: 0, concurrency: 1 }, 1000, 250);
		expect(stats).toMatchObject({ enabled: true, bytes_before: 1000, bytes_after: 250, ratio: 0.25 });
	});
});
