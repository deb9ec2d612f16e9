/**
 * @module hub/compression
 * permessage-deflate settings from the configured level. Compression is off by default: most
 * frames are small JSON lines that a LAN dashboard rarely needs compressed. When on, the hub
 * compresses each outgoing frame once for every client (frame-cache.ts), which needs
 * `server_no_context_takeover`: each message stands alone, so there is no zlib context per
 * client. Those frames may use a window of up to 2^15 bytes (deflate.ts), so a client that asked
 * for a smaller one (`server_max_window_bits`; browsers never do) gets its frames uncompressed:
 * ws accepts the offer (an option refusing it would refuse the handshake with 400, not just the
 * extension). Frames under the threshold go uncompressed. Inbound messages are inflated by ws and
 * checked against `maxPayload` after inflating (so a small compressed "bomb" still closes with
 * 1009).
 */
import { constants as zlib } from 'node:zlib';
import type { PerMessageDeflateOptions } from 'ws';
import { MAX_WINDOW_BITS } from './deflate';
import type { FrameCompression } from './frame-cache';
import type { CompressionConfig, CompressionLevel } from '../config';

export const ZLIB_LEVELS: Record<Exclude<CompressionLevel, 'none'>, number> = {
	fast: zlib.Z_BEST_SPEED,
	default: zlib.Z_DEFAULT_COMPRESSION,
	best: zlib.Z_BEST_COMPRESSION
};

/** zlib memory per context: level 8 of 9 halves the default's memory at a small cost in ratio. */
const MEM_LEVEL = 8;

/** The `perMessageDeflate` option for ws: false when the level is "none". */
export function deflateOptions(config: CompressionConfig): PerMessageDeflateOptions | false {
	if (config.level === 'none') return false;
	return {
		zlibDeflateOptions: { level: ZLIB_LEVELS[config.level], memLevel: MEM_LEVEL },
		threshold: config.thresholdBytes,
		concurrencyLimit: config.concurrency,
		// every message stands alone, so one compressed frame serves every client
		serverNoContextTakeover: true,
		clientNoContextTakeover: true
	};
}

/**
 * Whether a handshake's response (ws's `'headers'` event) gave the client a deflate window too
 * small to inflate the hub's shared frames: those must go to it uncompressed.
 */
export function narrowDeflateWindow(headers: readonly string[]): boolean {
	for (const header of headers) {
		const bits = /^sec-websocket-extensions:.*\bserver_max_window_bits=(\d+)/i.exec(header)?.[1];
		if (bits !== undefined) return Number(bits) < MAX_WINDOW_BITS;
	}
	return false;
}

/** How the hub compresses the frames it shares between clients; null when compression is off. */
export function frameCompression(config: CompressionConfig): FrameCompression | null {
	if (config.level === 'none') return null;
	return { level: ZLIB_LEVELS[config.level], thresholdBytes: config.thresholdBytes };
}

export interface CompressionStats {
	enabled: boolean;
	level: CompressionLevel;
	threshold_bytes: number;
	concurrency: number;
	/** payload bytes handed to ws */
	bytes_before: number;
	/** bytes written to the sockets (compressed, frame headers and handshakes included) */
	bytes_after: number;
	/** bytes_after / bytes_before, 1 when nothing was sent */
	ratio: number;
}

export function compressionStats(config: CompressionConfig, before: number, after: number): CompressionStats {
	return {
		enabled: config.level !== 'none',
		level: config.level,
		threshold_bytes: config.thresholdBytes,
		concurrency: config.concurrency,
		bytes_before: before,
		bytes_after: after,
		ratio: before > 0 ? after / before : 1
	};
}
