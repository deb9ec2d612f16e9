import { describe, expect, it } from 'vitest';
import { WireBuffers } from './wire-buffers';

describe('WireBuffers', () => {
	it('lends a buffer again only after it was released', () => {
		const buffers = new WireBuffers(1024, 4);
		const first = buffers.lease(100)!;
		const second = buffers.lease(100)!;
		expect(second.buffer).not.toBe(first.buffer);
		first.release();
		const third = buffers.lease(1024)!;
		expect(third.buffer).toBe(first.buffer);
		expect(buffers.lease(50)!.buffer).not.toBe(second.buffer);
	});

	it('lends nothing for more than a buffer holds', () => {
		const buffers = new WireBuffers(1024, 4);
		expect(buffers.lease(1025)).toBeNull();
		expect(buffers.lease(1024)!.buffer.length).toBe(1024);
	});

	it('takes a buffer back once, however often it is released', () => {
		const buffers = new WireBuffers(64, 4);
		const lease = buffers.lease(10)!;
		lease.release();
		lease.release();
		expect(buffers.free).toBe(1);
		const a = buffers.lease(10)!;
		const b = buffers.lease(10)!;
		expect(b.buffer).not.toBe(a.buffer);
	});

	it('keeps at most `keep` buffers between uses', () => {
		const buffers = new WireBuffers(64, 2);
		const leases = Array.from({ length: 5 }, () => buffers.lease(10)!);
		for (const lease of leases) lease.release();
		expect(buffers.free).toBe(2);
	});
});
