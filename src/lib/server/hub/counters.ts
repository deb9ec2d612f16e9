/**
 * @module hub/counters
 * The hub's running totals. One plain object shared by the modules that count, so the stats
 * API and the Prometheus exporter (metrics.ts) read the same numbers without reaching into
 * sessions, and counting costs an addition.
 */

export interface HubCounters {
	/** frames written (an event, a batch or a control reply each count one) */
	messagesSent: number;
	/** payload bytes written, before compression */
	bytesSent: number;
	messagesReceived: number;
	bytesReceived: number;
	/** events written to clients, counted per recipient */
	eventsDelivered: number;
	/** `batch` frames written */
	batchesSent: number;
	/** protocol errors answered, socket errors and internal failures */
	errors: number;
	/** transient faults recovered from (a write on a closing socket, a failed send) */
	transientErrors: number;
	/** clients closed with 4002 because their queue could not take a normal or high event */
	slowConsumerCloses: number;
	/** events broadcast, by event type (counted once per event, not per recipient) */
	eventsByType: Record<string, number>;
	/** low-priority events dropped for slow clients (per recipient) */
	eventsDropped: number;
	/** progress events replaced by a newer one in a full queue (per recipient) */
	eventsCoalesced: number;
	/** client messages refused by the rate limit */
	rateLimitViolations: number;
	/** clients closed with 4003 */
	rateLimitCloses: number;
	/** progress updates replaced by a newer one for clients that asked for a slower rate (rate-gate) */
	rateCoalesced: number;
	/** `resume` answered with `resumed`, and events replayed by them */
	resumes: number;
	eventsReplayed: number;
	/** `resume` answered with `reset` */
	resets: number;
	/** wire bytes (after compression, frame headers included) of connections already closed */
	closedWireBytes: number;
}

export function createCounters(): HubCounters {
	return {
		messagesSent: 0,
		bytesSent: 0,
		messagesReceived: 0,
		bytesReceived: 0,
		eventsDelivered: 0,
		batchesSent: 0,
		errors: 0,
		transientErrors: 0,
		slowConsumerCloses: 0,
		eventsByType: {},
		eventsDropped: 0,
		eventsCoalesced: 0,
		rateLimitViolations: 0,
		rateLimitCloses: 0,
		rateCoalesced: 0,
		resumes: 0,
		eventsReplayed: 0,
		resets: 0,
		closedWireBytes: 0
	};
}
