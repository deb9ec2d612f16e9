import { describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_SLICE_MS } from './hub/write-turns';
import { INPUT_QUIET_MS, INPUT_WRITE_SLICE_MS, LoopShare } from './loop-share';

describe('LoopShare', () => {
	it('gives the writes their full slice until a tool is read, a short one while it is, and the full one once it is quiet', () => {
		let clock = 1_000;
		const share = new LoopShare(() => clock);
		expect(share.writeSliceMs()).toBe(DEFAULT_WRITE_SLICE_MS);
		share.toolInput();
		expect(share.writeSliceMs()).toBe(INPUT_WRITE_SLICE_MS);
		clock += INPUT_QUIET_MS - 1;
		expect(share.writeSliceMs()).toBe(INPUT_WRITE_SLICE_MS);
		share.toolInput();
		clock += INPUT_QUIET_MS - 1;
		expect(share.writeSliceMs()).toBe(INPUT_WRITE_SLICE_MS);
		clock += 1;
		expect(share.writeSliceMs()).toBe(DEFAULT_WRITE_SLICE_MS);
		expect(INPUT_WRITE_SLICE_MS).toBeLessThan(DEFAULT_WRITE_SLICE_MS);
	});
});
