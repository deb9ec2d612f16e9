/**
 * @module hub/deflate
 * Compresses one message on its own, as permessage-deflate without context takeover sends it, so
 * the same compressed frame can go to every client (frame-cache.ts).
 */
import { constants as zlib, deflateRawSync } from 'node:zlib';

/** zlib's hash memory level for a large message (8 of 9: the default's ratio at half its memory). */
const MAX_MEM_LEVEL = 8;
/** The smallest and largest LZ77 windows raw deflate takes (2^9 and 2^15 bytes). */
const MIN_WINDOW_BITS = 9;
export const MAX_WINDOW_BITS = 15;
/** Output room beyond the payload's size: deflate's worst case adds a few bytes per block. */
const CHUNK_SLACK = 64;
/** The empty block a sync flush ends with; the receiver adds these 4 bytes back (RFC 7692 §7.2.1). */
const TRAILER_BYTES = 4;

/**
 * One message compressed on its own (no context takeover), as permessage-deflate sends it:
 * raw deflate, sync-flushed, without the trailing 4 bytes.
 * zlib's state is sized to the message: the smallest window that holds it whole (so no match is
 * lost; a receiver inflates with any window as large or larger) and a hash table to match. A
 * context with the default sizes takes ~320 KB, allocated and freed for every message; for the
 * small replies each client gets (welcome, subscribed…) that churn left the process ~20 KB of
 * resident memory more per connection. Sized, a small message's state (≤ 50 KB) is reused by the
 * allocator from one message to the next, and set up faster.
 */
export function deflateMessage(payload: Buffer, level: number): Buffer {
	let windowBits = MIN_WINDOW_BITS;
	while (windowBits < MAX_WINDOW_BITS && 1 << windowBits < payload.length) windowBits += 1;
	const deflated = deflateRawSync(payload, {
		level,
		windowBits,
		memLevel: Math.min(MAX_MEM_LEVEL, windowBits - 6),
		chunkSize: Math.max(zlib.Z_MIN_CHUNK, payload.length + CHUNK_SLACK),
		finishFlush: zlib.Z_SYNC_FLUSH
	});
	return deflated.subarray(0, deflated.length - TRAILER_BYTES);
}
