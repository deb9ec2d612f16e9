/**
 * @module hub/types
 * What the rest of the server sees of the WebSocket hub.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HubStats {
	timestamp: string;
	epoch: string;
	seq: number;
	connections: { active: number; total_created: number; rejected: number; max: number };
	messages: { sent: number; received: number; bytes_sent: number; bytes_received: number };
	errors: number;
	/** clients closed as slow consumers (4002) */
	slow_consumer_closes: number;
	events_by_type: Record<string, number>;
}

export interface Hub {
	/** handles an HTTP upgrade already routed to the hub's path */
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
	stats(): HubStats;
	/** closes every socket with the code (1001 on shutdown) and stops the timers; idempotent */
	close(code?: number, reason?: string): Promise<void>;
}
