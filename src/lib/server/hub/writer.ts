/**
 * @module hub/writer
 * One client's write side: its bounded queue (outbox.ts) and the loop that drains it into the
 * socket. Events are queued and written by `#flush`, which runs in a microtask after the events
 * of one tick were queued (so an idle client gets them at once, in one frame) and writes only
 * while the socket is writable: runs of events as `batch` frames of at most `batchMaxEvents`,
 * control replies alone, in queue order. A backed-up socket is retried on its `drain` or after
 * `batchFlushMs`, whichever comes first. While `hold` is set (a session's resume window), events
 * stay queued; replies ahead of them still go out.
 */
import { WebSocket } from 'ws';
import { EVENT_PRIORITY } from '../../protocol/events';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import { encodeBatch, encodeControl } from './frames';
import type { HistoryEntry } from './history';
import { Outbox, type EventItem } from './outbox';

/** Unwritten bytes in the socket above which the writer stops writing and lets batches form. */
export const DEFAULT_WRITE_HIGH_WATER_BYTES = 64 * 1024;

/** The parts of a `ws` WebSocket the writer uses. */
export type WriterSocket = Pick<WebSocket, 'readyState' | 'bufferedAmount' | 'send'>;

/** The TCP socket under the WebSocket: its `drain` resumes writing, `bytesWritten` counts wire bytes. */
export interface RawSocket {
	bytesWritten: number;
	on(event: 'drain', listener: () => void): unknown;
	off(event: 'drain', listener: () => void): unknown;
}

export interface WriterOptions {
	socket: WriterSocket;
	rawSocket?: RawSocket;
	counters: HubCounters;
	logger: Logger;
	clientId: string;
	maxMessages: number;
	maxBytes: number;
	batchMaxEvents: number;
	batchFlushMs: number;
	writeHighWaterBytes: number;
	/** whether the session still writes (false once it is closing) */
	isOpen: () => boolean;
	/** the queue cannot take `what`: the session must close as a slow consumer */
	onOverflow: (what: string) => void;
	/** delivery latency of each written event, ms */
	onDelivered?: (latencyMs: number) => void;
}

export class Writer {
	#options: WriterOptions;
	#outbox: Outbox;
	#flushScheduled = false;
	#retryTimer: NodeJS.Timeout | null = null;
	#lastWrittenSeq = 0;
	#hold = false;
	#onDrain = () => this.#flush();

	constructor(options: WriterOptions) {
		this.#options = options;
		this.#outbox = new Outbox({ maxMessages: options.maxMessages, maxBytes: options.maxBytes });
		options.rawSocket?.on('drain', this.#onDrain);
	}

	/** items waiting (events and replies) */
	get depth(): number {
		return this.#outbox.length;
	}

	get bytes(): number {
		return this.#outbox.bytes;
	}

	/** whether the queue is more than half full: a reason to end a resume window early */
	get underPressure(): boolean {
		return (
			this.#outbox.bytes * 2 > this.#options.maxBytes ||
			this.#outbox.liveEvents * 2 > this.#options.maxMessages
		);
	}

	/** Holds queued events back (true) or lets them flow (false). */
	set hold(value: boolean) {
		this.#hold = value;
		if (!value) this.#scheduleFlush();
	}

	/** Sends a control frame after anything already queued; false once the session is closing. */
	send(data: string | Buffer): boolean {
		const { socket, maxBytes } = this.#options;
		if (!this.#options.isOpen() || socket.readyState !== WebSocket.OPEN) return false;
		if (this.#outbox.length === 0 && this.#writable()) return this.#write(data);
		const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
		if (this.#outbox.bytes + socket.bufferedAmount + size > maxBytes) {
			this.#options.onOverflow('a reply');
			return false;
		}
		this.#outbox.pushControl(data);
		this.#scheduleFlush();
		return true;
	}

	/** Queues a live event; a full queue coalesces, drops low events, or reports an overflow. */
	deliver(entry: HistoryEntry): void {
		const { counters } = this.#options;
		const droppedBefore = this.#outbox.droppedTotal;
		const result = this.#outbox.push(toItem(entry, false), this.#options.socket.bufferedAmount);
		counters.eventsDropped += this.#outbox.droppedTotal - droppedBefore;
		if (result === 'coalesced') counters.eventsCoalesced += 1;
		else if (result === 'overflow') {
			this.#options.onOverflow(`event ${entry.seq} (${entry.event.type})`);
			return;
		}
		// a low event dropped in place of older ones still means a notice to send
		this.#scheduleFlush();
	}

	/**
	 * Queues replayed entries ahead of newer queued events; returns how many, or null when a newer
	 * event was already written (the client would take the replay for repeats).
	 */
	replay(entries: readonly HistoryEntry[]): number | null {
		if (entries.length > 0 && entries[0]!.seq <= this.#lastWrittenSeq) return null;
		this.#outbox.insertReplay(entries.map((entry) => toItem(entry, true)));
		this.#scheduleFlush();
		return entries.length;
	}

	/** Frees the queue, the timer and the drain listener. Idempotent. */
	release(): void {
		this.#outbox.clear();
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = null;
		}
		this.#options.rawSocket?.off('drain', this.#onDrain);
	}

	#writable(): boolean {
		const { socket, writeHighWaterBytes } = this.#options;
		return socket.readyState === WebSocket.OPEN && socket.bufferedAmount < writeHighWaterBytes;
	}

	#scheduleFlush(): void {
		if (this.#flushScheduled || !this.#options.isOpen()) return;
		this.#flushScheduled = true;
		queueMicrotask(() => this.#flush());
	}

	#flush(): void {
		this.#flushScheduled = false;
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = null;
		}
		if (!this.#options.isOpen()) return;
		for (;;) {
			const dropped = this.#outbox.takeDropped();
			if (dropped) {
				this.#options.logger.debug(
					{ client_id: this.#options.clientId, ...dropped },
					'events dropped for a slow client'
				);
				this.#write(encodeControl('dropped', dropped));
			}
			if (this.#outbox.length === 0) return;
			if (!this.#writable()) break;
			if (this.#hold && this.#outbox.peek()?.kind === 'event') return;
			const first = this.#outbox.shift()!;
			if (first.kind === 'control') {
				this.#write(first.frame);
				continue;
			}
			const batch: EventItem[] = [first];
			while (batch.length < this.#options.batchMaxEvents && this.#outbox.peek()?.kind === 'event') {
				batch.push(this.#outbox.shift() as EventItem);
			}
			this.#writeEvents(batch);
			if (!this.#options.isOpen()) return;
		}
		// backed up: `drain` resumes, and the timer bounds the wait if drain never comes (a closing socket)
		this.#retryTimer = setTimeout(() => this.#flush(), this.#options.batchFlushMs);
		this.#retryTimer.unref();
	}

	#writeEvents(batch: EventItem[]): void {
		const frame = batch.length === 1 ? batch[0]!.frame : encodeBatch(batch.map((item) => item.frame));
		if (!this.#write(frame)) return;
		const { counters, onDelivered } = this.#options;
		if (batch.length > 1) counters.batchesSent += 1;
		counters.eventsDelivered += batch.length;
		this.#lastWrittenSeq = Math.max(this.#lastWrittenSeq, batch[batch.length - 1]!.seq);
		if (onDelivered) {
			const now = performance.now();
			for (const item of batch) onDelivered(now - item.at);
		}
	}

	#write(data: string | Buffer): boolean {
		const { socket, counters } = this.#options;
		if (!this.#options.isOpen() || socket.readyState !== WebSocket.OPEN) return false;
		const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
		try {
			// A Buffer is sent as text so one encoded broadcast frame can go to every client.
			socket.send(data, { binary: false });
		} catch (err) {
			// a socket that started closing under us: transient, the close handler cleans up
			counters.transientErrors += 1;
			this.#options.logger.debug({ err, client_id: this.#options.clientId }, 'write failed');
			return false;
		}
		counters.messagesSent += 1;
		counters.bytesSent += size;
		return true;
	}
}

function toItem(entry: HistoryEntry, replay: boolean): EventItem {
	const { event } = entry;
	let coalesceKey: string | null = null;
	if (event.type === 'task.progress') coalesceKey = `t:${event.data.task_id}`;
	else if (event.type === 'workflow.progress') coalesceKey = `w:${event.data.run_id}`;
	return {
		kind: 'event',
		seq: entry.seq,
		priority: EVENT_PRIORITY[event.type],
		frame: entry.frame,
		at: entry.at,
		coalesceKey,
		replay
	};
}
