/**
 * @module hub/counters
 * The hub's running totals (frames and bytes in and out, errors, events by type). One plain
 * object shared by the modules that count, so a metrics exporter can read it without
 * reaching into sessions.
 */

export interface HubCounters {
	messagesSent: number;
	bytesSent: number;
	messagesReceived: number;
	bytesReceived: number;
	/** protocol errors answered, socket errors and internal failures */
	errors: number;
	/** clients closed with 4002 because they left too many bytes unread */
	slowConsumerCloses: number;
	/** events broadcast, by event type (counted once per event, not per recipient) */
	eventsByType: Record<string, number>;
}

export function createCounters(): HubCounters {
	return {
		messagesSent: 0,
		bytesSent: 0,
		messagesReceived: 0,
		bytesReceived: 0,
		errors: 0,
		slowConsumerCloses: 0,
		eventsByType: {}
	};
}
