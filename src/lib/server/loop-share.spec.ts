import { describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_SLICE_MS } from './hub/write-turns';
import { FLOOD_WRITE_SLICE_MS, LoopShare, SHARE_HOLD_MS } from './loop-share';
import { FEED_TURN_MS } from './orchestrator/pipe-feed';

const nextLoopTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('LoopShare', () => {
	it('gives the writes their full slice until a tool floods, a short one while it does, and the full one once it stops', () => {
		let clock = 1_000;
		const share = new LoopShare(() => clock);
		expect(share.writeSliceMs()).toBe(DEFAULT_WRITE_SLICE_MS);
		share.toolFlooding();
		expect(share.writeSliceMs()).toBe(FLOOD_WRITE_SLICE_MS);
		clock += SHARE_HOLD_MS - 1;
		expect(share.writeSliceMs()).toBe(FLOOD_WRITE_SLICE_MS);
		share.toolFlooding();
		clock += SHARE_HOLD_MS - 1;
		expect(share.writeSliceMs()).toBe(FLOOD_WRITE_SLICE_MS);
		clock += 1;
		expect(share.writeSliceMs()).toBe(DEFAULT_WRITE_SLICE_MS);
		expect(FLOOD_WRITE_SLICE_MS).toBeLessThan(DEFAULT_WRITE_SLICE_MS);
	});

	it('keeps the full slice while a client reads far behind, flood or not', () => {
		let clock = 1_000;
		const share = new LoopShare(() => clock);
		share.toolFlooding();
		share.readerFarBehind();
		expect(share.writeSliceMs()).toBe(DEFAULT_WRITE_SLICE_MS);
		clock += SHARE_HOLD_MS - 1;
		share.toolFlooding();
		expect(share.writeSliceMs()).toBe(DEFAULT_WRITE_SLICE_MS);
		clock += 1;
		expect(share.writeSliceMs()).toBe(FLOOD_WRITE_SLICE_MS);
	});

	it('gives the feeds one deadline per loop turn, however many ask, and a new one on the next turn', async () => {
		let clock = 1_000;
		const share = new LoopShare(() => clock);
		const first = share.feedDeadline();
		expect(first).toBe(1_000 + FEED_TURN_MS);
		clock += 3;
		expect(share.feedDeadline()).toBe(first);
		await nextLoopTurn();
		expect(share.feedDeadline()).toBe(1_003 + FEED_TURN_MS);
		share.close();
		// closed: nothing is scheduled any more, and each asker gets a budget of its own
		clock += 10;
		expect(share.feedDeadline()).toBe(1_013 + FEED_TURN_MS);
	});
});
