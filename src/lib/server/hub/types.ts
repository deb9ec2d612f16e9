/**
 * @module hub/types
 * What the rest of the server sees of the WebSocket hub.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RealtimeStatsResponse } from '../../protocol/api';
import type { SystemStatsResponse } from '../../protocol/system';
import type { Principal } from '../auth/principal';

export type HubStats = RealtimeStatsResponse;

/** What a frame interceptor may do with the client that sent the frame. */
export interface HubPeer {
	readonly id: string;
	/** who the client acts for, as its upgrade's credentials said */
	readonly principal: Principal;
	/** the client's address (through trusted proxies) */
	readonly remoteAddress: string;
	send(data: string): boolean;
	/** closes the connection (after what was sent); idempotent */
	close(code: number, reason?: string): void;
}

/** Sees a client's text frame before the subscriber protocol; true when it took the frame. */
export type FrameInterceptor = (peer: HubPeer, text: string) => boolean;

export interface Hub {
	/** handles an HTTP upgrade already routed to the hub's path */
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
	stats(): HubStats;
	/** the last ten minutes of system samples (system-feed), for the /system page */
	systemStats(): SystemStatsResponse;
	/** the Prometheus text exposition of the hub's metrics (and the process's, if enabled) */
	metrics(): Promise<{ contentType: string; body: string }>;
	/** closes every socket with the code (1001 on shutdown) and stops the timers; idempotent */
	close(code?: number, reason?: string): Promise<void>;
}
