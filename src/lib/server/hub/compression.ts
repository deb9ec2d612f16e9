/**
 * @module hub/compression
 * permessage-deflate settings for the hub's WebSocketServer from the configured level.
 * Compression is off by default: most frames are small JSON lines, and zlib per client costs
 * CPU and memory that a LAN dashboard rarely needs. When on, frames under the threshold go
 * uncompressed, ws bounds how many zlib jobs run at once, and inbound messages are checked
 * against `maxPayload` after inflating (so a small compressed "bomb" still closes with 1009).
 */
import { constants as zlib } from 'node:zlib';
import type { PerMessageDeflateOptions } from 'ws';
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
		// a context per client kept across messages compresses repeated JSON keys well
		serverNoContextTakeover: false,
		clientNoContextTakeover: false
	};
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
