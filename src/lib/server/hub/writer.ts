/**
 * @module hub/writer
 * One client's write side. While the client keeps up, the broadcaster hands it events into a
 * small live queue (outbox.ts), written at the end of the tick as `batch` frames of at most
 * `batchMaxEvents`. When the queue would pass `maxMessages` (a burst bigger than one tick can
 * write, or a socket that stopped draining), the client drops its queue and reads the stream
 * from history instead, after the last event it was given, a page at a time as its socket
 * drains (cursor.ts); once it reaches the head it is live again. A burst therefore costs a
 * reader a cursor, not a copy, and a client that reads at full speed misses nothing.
 * A resume is the same path: the cursor starts at the client's seq, and `resumed` is written
 * where the replay ends, before the first event after it.
 *
 * A caught-up client whose events come after the tick's slice of writing is spent (channels.ts)
 * reads them from history too, in its turn among the hub's clients (write-turns.ts).
 *
 * A reader of history is under pressure once it owes the client more of the events it wants than
 * its live queue may hold (`maxMessages`: a brief stall of its socket costs it no more than it
 * would cost a live queue), or once it drifts into the oldest quarter of what history holds.
 * Under pressure, superseded progress is coalesced (latest value wins); near the end of history
 * low-priority events are shed too (one `dropped {count, from_seq, to_seq}` notice before the
 * next frame), so the reader catches up with every status and failure; one that history has
 * moved past is closed with 4002 (resume). Replays are exact: nothing is coalesced or shed in
 * them.
 *
 * Writes happen only while the socket's unsent bytes are below `writeHighWaterBytes`, corked so
 * that one flush is one system call; `drain` (or `batchFlushMs` if it never comes) resumes.
 * Control replies keep their place: each goes out once every event up to the stream position it
 * was sent at has been written or passed over. While `hold` is set (a session's resume window)
 * events wait; replies ahead of them still go out.
 */
import { WebSocket } from 'ws';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import { HistoryCursor } from './cursor';
import type { SharedRun } from './channels';
import { FrameCache, frameCounts, frameEnds } from './frame-cache';
import { encodeControl, framesWire, payloadsOf, wireHeadLength } from './frames';
import { Outbox } from './outbox';
import type { HistoryEntry, HistoryPage, HistorySource } from './stream';
import type { WireBuffers } from './wire-buffers';
import type { WriteTurns } from './write-turns';

/** Unwritten bytes in the socket above which the writer stops writing and lets batches form. */
export const DEFAULT_WRITE_HIGH_WATER_BYTES = 64 * 1024;
/** Corked rounds of writing per flush before yielding to the event loop (a fast reader of a long backlog). */
const ROUNDS_PER_FLUSH = 4;
/** `{"type":"batch","events":[` and `]}` around a batch's events */
const BATCH_OVERHEAD = 28;
/** Batches written in one go per client (one buffer, shared by the clients that get the same events). */
const RUN_BATCHES = 16;

/** The parts of a `ws` WebSocket the writer uses. */
export type WriterSocket = Pick<WebSocket, 'readyState' | 'bufferedAmount' | 'send'>;

/**
 * The TCP socket under the WebSocket: its `drain` resumes writing, `bytesWritten` counts wire
 * bytes. With `write`, the writer writes whole frames itself (the same bytes for every client,
 * see frame-cache.ts); ws still does the handshake, reading, pings and the close.
 */
export interface RawSocket {
	bytesWritten: number;
	on(event: 'drain', listener: () => void): unknown;
	off(event: 'drain', listener: () => void): unknown;
	cork?(): void;
	uncork?(): void;
	/** `done` once the bytes are handed to the kernel (or the write failed) */
	write?(chunk: Buffer, done?: (err?: Error | null) => void): boolean;
}

export interface DroppedRange {
	count: number;
	from_seq: number;
	to_seq: number;
}

export type ReplayOutcome = { kind: 'resumed'; replayed: number } | { kind: 'gone' } | { kind: 'overtaken' };

export interface WriterOptions {
	socket: WriterSocket;
	rawSocket?: RawSocket;
	counters: HubCounters;
	logger: Logger;
	clientId: string;
	/** events the live queue holds before the client reads from history instead */
	maxMessages: number;
	/** bytes of replies the client may have waiting, its socket's unsent bytes included */
	maxBytes: number;
	batchMaxEvents: number;
	batchFlushMs: number;
	writeHighWaterBytes: number;
	/** where a client behind the stream reads; without one, a client past its live queue is slow */
	history: HistorySource | null;
	/** the seq of the newest event broadcast */
	head: () => number;
	/** whether the client's subscriptions want an event read from history */
	wants: (entry: HistoryEntry) => boolean;
	/** whether the session still writes (false once it is closing) */
	isOpen: () => boolean;
	/** the client cannot be served without losing what it must not lose: close it as slow */
	onOverflow: (what: string) => void;
	/** mean delivery latency of `count` events written together, ms */
	onDelivered?: (latencyMs: number, count: number) => void;
	/** frames shared by every client of the hub; one of its own when omitted */
	frames?: FrameCache;
	/** the client negotiated permessage-deflate: frames may go compressed */
	deflate?: boolean;
	/**
	 * where a flush after pending I/O waits its turn, shared by the hub's clients so that their
	 * catching up is sliced (write-turns.ts); without it, each flush is a callback of its own
	 */
	turns?: WriteTurns;
	/**
	 * told at each read from the older half of history, whose oldest quarter sheds output: the
	 * hub's writes must not give way to a flooding tool meanwhile (loop-share.ts)
	 */
	onFarBehind?: () => void;
	/** memory reused for a replay's frames (this client's alone); fresh memory per run when omitted */
	wireBuffers?: WireBuffers;
}

interface Replay {
	/** the head when the resume came: `resumed` goes right after it */
	target: number;
	replayed: number;
	/** the first page is on its way (a shared history); events wait meanwhile */
	checking: boolean;
	answer: (outcome: ReplayOutcome) => string | Buffer;
}

export class Writer {
	#options: WriterOptions;
	#outbox = new Outbox();
	/** set while the client reads from history rather than its live queue */
	#cursor: HistoryCursor | null = null;
	/** live events up to this seq were already read from history */
	#liveFrom = 0;
	#replay: Replay | null = null;
	/**
	 * wanted live events handed to a reader of history (after seq `#owedAfter`) that it has not
	 * read yet: past `maxMessages` (what its live queue may hold) it is under pressure
	 */
	#owed = 0;
	#owedAfter = 0;
	#dropped: DroppedRange | null = null;
	#lastWrittenSeq = 0;
	#hold = false;
	#scheduled = false;
	#waitingDrain = false;
	/** `drain` is listened for from the first time the socket filled up (most clients never fill it) */
	#drainListened = false;
	#retryTimer: NodeJS.Timeout | null = null;
	#immediate: NodeJS.Immediate | null = null;
	#batch: HistoryEntry[] = [];
	#frames: FrameCache;
	/** made at the first flush and the first wait for `drain`: a client that never queues makes neither */
	#flushNow: (() => void) | null = null;
	#onDrain: (() => void) | null = null;

	constructor(options: WriterOptions) {
		this.#options = options;
		this.#frames = options.frames ?? new FrameCache();
	}

	/** what the client is owed: queued events and replies, and how far a reader is behind the head */
	get depth(): number {
		const behind = this.#cursor ? Math.max(0, this.#options.head() - this.#cursor.position) : 0;
		return this.#outbox.slots + behind;
	}

	/** bytes of the frames queued */
	get bytes(): number {
		return this.#outbox.bytes;
	}

	/** items held in memory (events and replies) */
	get slots(): number {
		return this.#outbox.slots;
	}

	/** whether the client reads from history (it is behind the live stream) */
	get behind(): boolean {
		return this.#cursor !== null;
	}

	/** Holds queued events back (true) or lets them flow (false). */
	set hold(value: boolean) {
		this.#hold = value;
		if (!value) this.#schedule(false);
	}

	/**
	 * Sends a control frame after every event up to `afterSeq` (by default: every event
	 * broadcast so far); false once the session is closing or its replies pass the byte cap.
	 */
	send(data: string | Buffer, afterSeq = this.#options.head()): boolean {
		const { socket, maxBytes } = this.#options;
		if (!this.#options.isOpen() || socket.readyState !== WebSocket.OPEN) return false;
		if (this.#outbox.controls === 0 && afterSeq <= this.#considered() && this.#writable()) {
			return this.#write(data);
		}
		const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
		if (this.#outbox.controlBytes + socket.bufferedAmount + size > maxBytes) {
			this.#options.onOverflow('a reply');
			return false;
		}
		this.#outbox.pushControl(data, afterSeq);
		this.#schedule(false);
		return true;
	}

	/** Takes a live event the client's subscriptions want. O(1) whatever the client's state. */
	deliver(entry: HistoryEntry): void {
		const cursor = this.#cursor;
		if (cursor) return this.#owe(1);
		if (entry.seq <= this.#liveFrom) return;
		this.#outbox.pushEvent(entry);
		if (this.#outbox.events > this.#options.maxMessages) this.#readBehind();
		if (!this.#waitingDrain) this.#schedule(false);
	}

	/**
	 * Takes a channel's runs (in order): while the client is caught up, has nothing of its own
	 * waiting and its socket is writable, each run is written with one call (the same bytes for
	 * every member); whatever is left goes the way of {@link deliver}. Without `now` (this tick's
	 * slice of writing is spent) nothing is written: a caught-up client reads these events from
	 * history in its turn (write-turns.ts), like a reader behind the stream.
	 */
	offer(runs: readonly SharedRun[], now = true): void {
		if (this.#cursor) return this.#owe(eventsOf(runs));
		let i = 0;
		if (!now) {
			const first = runs[0]!.entries[0]!;
			const history = this.#options.history;
			// read in its turn from history, if history still holds them (it may keep none at all)
			if (history && history.firstSeq() <= first.seq && this.#direct(first.seq, false)) {
				this.#cursorAt(Math.max(first.seq - 1, this.#liveFrom), undefined, eventsOf(runs));
				this.#schedule(true);
				return;
			}
		} else if (this.#direct(runs[0]!.entries[0]!.seq, true)) {
			const raw = this.#options.rawSocket;
			// several runs, corked, go out in one system call
			const corked = runs.length > 1 && raw?.cork !== undefined;
			if (corked) raw!.cork!();
			try {
				for (; i < runs.length && this.#writable(); i++) this.#writeRun(runs[i]!);
			} finally {
				if (corked) raw!.uncork!();
			}
		}
		for (; i < runs.length; i++) for (const entry of runs[i]!.entries) this.deliver(entry);
	}

	/**
	 * Whether events from `seq` on can go out without passing anything this client still owes:
	 * written now (`writable`: the socket takes them), or read from history in its turn.
	 */
	#direct(seq: number, writable: boolean): boolean {
		return (
			this.#outbox.events === 0 &&
			this.#outbox.controls === 0 &&
			!this.#hold &&
			this.#replay === null &&
			this.#dropped === null &&
			seq > this.#liveFrom &&
			this.#options.isOpen() &&
			(!writable || this.#writable())
		);
	}

	#writeRun(run: SharedRun): void {
		if (!this.#writeWire(run.wire(this.#options.deflate === true), run.size, run.frames)) return;
		const { counters, onDelivered } = this.#options;
		const n = run.entries.length;
		counters.batchesSent += run.batches;
		counters.eventsDelivered += n;
		this.#lastWrittenSeq = run.entries[n - 1]!.seq;
		onDelivered?.(performance.now() - run.meanAt, n);
	}

	/**
	 * Replays history after `from` ahead of newer events, then goes on live. `answer` is asked
	 * once for the reply frame: `resumed` is written right after the replayed events; `gone`
	 * (history no longer holds them) and `overtaken` (a newer event was already written, so the
	 * client would take the replay for repeats) are sent at once. `liveSince` is the seq after
	 * which the client's subscriptions were live on this connection.
	 */
	resume(from: number, answer: (outcome: ReplayOutcome) => string | Buffer, liveSince = 0): void {
		const reply = (outcome: ReplayOutcome) => void this.send(answer(outcome));
		if (this.#replay) return reply({ kind: 'overtaken' });
		const history = this.#options.history;
		if (!history || from + 1 < history.firstSeq()) return reply({ kind: 'gone' });
		if (from < this.#lastWrittenSeq) {
			// what came after `from` went out on this connection's own live stream: nothing was missed
			return reply(from >= liveSince ? { kind: 'resumed', replayed: 0 } : { kind: 'overtaken' });
		}
		const target = this.#options.head();
		if (from >= target) return reply({ kind: 'resumed', replayed: 0 });
		const page = history.readAfter(from, this.#batchPageSize());
		if (!isPromise(page)) return this.#startReplay(from, target, answer, page);
		const replay: Replay = { target, replayed: 0, checking: true, answer };
		this.#replay = replay;
		const landed = (result: HistoryPage) => {
			if (this.#replay !== replay || !this.#options.isOpen()) return;
			this.#replay = null;
			this.#startReplay(from, target, answer, result);
			this.#schedule(false);
		};
		page.then(landed, () => landed(null));
	}

	/**
	 * The client already has every event through `seq`, a seq this node has not read yet (it saw
	 * it on another node of a shared stream): drop what is queued, all of it older, and let only
	 * later events through as this node reads them.
	 */
	skipThrough(seq: number): void {
		if (seq <= this.#options.head()) return;
		this.#outbox.clearEvents();
		this.#cursor = null;
		this.#liveFrom = Math.max(this.#liveFrom, seq);
	}

	/**
	 * The stream restarted after `seq` (another epoch, or events lost): forget what the client
	 * was owed, send `frame` (the reset), and go on live from there.
	 */
	restartAt(seq: number, frame: string | Buffer): void {
		this.#outbox.clearEvents();
		this.#cursor = null;
		this.#replay = null;
		this.#dropped = null;
		this.#liveFrom = seq;
		this.#lastWrittenSeq = 0;
		this.send(frame, seq);
	}

	/** Frees the queue, the cursor, the timers and the drain listener. Idempotent. */
	release(): void {
		this.#outbox.clear();
		this.#cursor = null;
		this.#replay = null;
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = null;
		}
		if (this.#immediate) {
			clearImmediate(this.#immediate);
			this.#immediate = null;
		}
		if (this.#drainListened) {
			this.#drainListened = false;
			this.#options.rawSocket?.off('drain', this.#onDrain!);
		}
	}

	#batchPageSize(): number {
		return Math.max(64, this.#options.batchMaxEvents * 50);
	}

	#startReplay(from: number, target: number, answer: Replay['answer'], page: HistoryPage): void {
		if (page === null || (page.length > 0 && page[0]!.seq !== from + 1)) {
			void this.send(answer({ kind: 'gone' }));
			return;
		}
		// the replay and everything after it come from history, in seq order
		this.#outbox.clearEvents();
		// the replay is exact; what comes after it is owed as live events are
		this.#cursorAt(from, page, 0, target);
		this.#replay = { target, replayed: 0, checking: false, answer };
		this.#schedule(false);
	}

	/** The live queue is past its bound: read the stream from history after the last event given. */
	#readBehind(): void {
		const first = this.#outbox.peekEvent()!;
		if (!this.#options.history) {
			this.#options.onOverflow(`event ${first.seq + this.#outbox.events - 1} (its queue is full)`);
			return;
		}
		const owed = this.#outbox.events;
		this.#outbox.clearEvents();
		this.#cursorAt(first.seq - 1, undefined, owed);
	}

	/** Reads from history after `seq`, owing the reader `owed` wanted events after `owedAfter`. */
	#cursorAt(seq: number, page?: readonly HistoryEntry[], owed = 0, owedAfter = seq): void {
		this.#owed = owed;
		this.#owedAfter = owedAfter;
		this.#cursor ??= new HistoryCursor(
			this.#options.history!,
			() => this.#schedule(false),
			this.#batchPageSize()
		);
		this.#cursor.moveTo(seq, page);
	}

	/** A reader of history is handed `n` more events it wants: they are there too, read in turn. */
	#owe(n: number): void {
		this.#owed += n;
		// only notice when history moved past the reader
		if (this.#cursor!.readFrom + 1 < this.#options.history!.firstSeq()) this.#fellOut();
	}

	#fellOut(): void {
		const position = this.#cursor?.position ?? 0;
		this.#options.onOverflow(`events after seq ${position}, which history no longer holds`);
	}

	/** every event up to this seq has been written or passed over */
	#considered(): number {
		if (this.#cursor) return this.#cursor.position;
		const first = this.#outbox.peekEvent();
		return first ? first.seq - 1 : this.#options.head();
	}

	#writable(): boolean {
		const { socket, writeHighWaterBytes } = this.#options;
		return socket.readyState === WebSocket.OPEN && socket.bufferedAmount < writeHighWaterBytes;
	}

	/**
	 * A flush at the end of this tick, or (`soon`, and always for a reader behind the stream, whose
	 * backlog may be long) after pending I/O, in its turn among the hub's clients.
	 */
	#schedule(soon: boolean): void {
		if (this.#scheduled || !this.#options.isOpen()) return;
		this.#scheduled = true;
		const flush = (this.#flushNow ??= () => this.#flush());
		if (!soon && this.#cursor === null) queueMicrotask(flush);
		else if (this.#options.turns) this.#options.turns.enqueue(flush);
		else this.#immediate = setImmediate(flush);
	}

	#flush(): void {
		this.#scheduled = false;
		this.#immediate = null;
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = null;
		}
		if (!this.#options.isOpen()) return;
		const raw = this.#options.rawSocket;
		for (let round = 0; ; round++) {
			if (!this.#writable()) return this.#awaitDrain();
			if (round === ROUNDS_PER_FLUSH) return this.#schedule(true);
			raw?.cork?.();
			let more: boolean;
			try {
				more = this.#writeSome();
			} finally {
				raw?.uncork?.();
			}
			if (!more) return;
		}
	}

	/** Writes until the socket is full (true: more to write) or there is nothing to write now (false). */
	#writeSome(): boolean {
		for (;;) {
			if (!this.#options.isOpen()) return false;
			this.#finishReplay();
			if (!this.#writeDueControls()) return false;
			if (!this.#writable()) return true;
			if (this.#hold || this.#replay?.checking) return false;
			const batch = this.#takeBatch();
			if (batch === 'boundary') continue;
			if (batch === 'gone') {
				this.#fellOut();
				return false;
			}
			if (batch === 'wait' || batch === 'idle') {
				this.#writeDropped();
				return false;
			}
			this.#writeDropped();
			this.#writeEvents(batch);
		}
	}

	/**
	 * The next events to write, at most RUN_BATCHES batches' worth, none past a reply that is due
	 * or the end of a replay; or why there are none: `boundary` (something is due first), `idle`
	 * (caught up), `wait` (a page is on its way), `gone` (history moved past the reader).
	 */
	#takeBatch(): HistoryEntry[] | 'boundary' | 'idle' | 'wait' | 'gone' {
		const batch = this.#batch;
		batch.length = 0;
		const max = this.#options.batchMaxEvents * RUN_BATCHES;
		// a run stops at the socket's high-water mark too: big events go a few at a time
		let room = this.#options.writeHighWaterBytes;
		const control = this.#outbox.peekControl();
		const boundary = Math.min(
			control ? control.afterSeq : Infinity,
			this.#replay ? this.#replay.target : Infinity
		);
		const cursor = this.#cursor;
		const batchMax = this.#options.batchMaxEvents;
		// past its limits a run still ends where a batch frame does, so every client reading the same
		// stretch gets (and shares) the same frames, built once (frame-cache.ts)
		// (by at most one more high-water mark of bytes: big events still go a few at a time)
		const more = () =>
			(batch.length < max && room > 0) ||
			(batch.length > 0 &&
				batch.length < max + batchMax &&
				room > -this.#options.writeHighWaterBytes &&
				batch[batch.length - 1]!.seq % batchMax !== 0);
		if (!cursor) {
			while (more()) {
				const entry = this.#outbox.peekEvent();
				if (!entry) return batch.length ? batch : 'idle';
				if (entry.seq > boundary) return batch.length ? batch : 'boundary';
				batch.push(this.#outbox.shiftEvent()!);
				room -= entry.frame.length;
			}
			return batch;
		}
		const replay = this.#replay;
		const depth = this.#depthInHistory(cursor);
		if (depth < 1 / 2) this.#options.onFarBehind?.();
		// under pressure: owing more than the live queue may hold, or in the oldest quarter of
		// history, close to falling out of it
		const danger = depth < 1 / 4;
		const exact = replay !== null || (this.#owed <= this.#options.maxMessages && !danger);
		const shedding = !exact && danger;
		while (more()) {
			const entry = cursor.peek();
			if (typeof entry === 'string') {
				if (entry === 'end') {
					if (cursor.position >= this.#options.head()) {
						this.#liveFrom = cursor.position;
						this.#cursor = null;
						return batch.length ? batch : 'boundary';
					}
					// a shared history that has not caught up with this node yet
					this.#retryLater();
					return batch.length ? batch : 'wait';
				}
				return batch.length ? batch : entry;
			}
			if (entry.seq > boundary) return batch.length ? batch : 'boundary';
			cursor.take();
			if (!this.#options.wants(entry)) continue;
			if (entry.seq > this.#owedAfter && this.#owed > 0) this.#owed -= 1;
			if (replay) replay.replayed += 1;
			if (!exact && entry.priority === 'low') {
				if (cursor.superseded(entry)) {
					this.#options.counters.eventsCoalesced += 1;
					continue;
				}
				if (shedding && entry.coalesceKey === null) {
					this.#recordDrop(entry.seq);
					continue;
				}
			}
			batch.push(entry);
			room -= entry.frame.length;
		}
		return batch;
	}

	/**
	 * Where the reader is in what history holds, as a share of it: 0 at its oldest event, 1 at the
	 * head (below 0: history moved past it). 1 while history has let no event go: nothing is lost yet.
	 */
	#depthInHistory(cursor: HistoryCursor): number {
		const first = this.#options.history!.firstSeq();
		if (first <= 1) return 1;
		const behind = cursor.position - first;
		const held = this.#options.head() - first;
		return held > 0 ? behind / held : behind < 0 ? -1 : 1;
	}

	/** Writes `resumed` once the replay has reached its end and before any event after it. */
	#finishReplay(): void {
		const replay = this.#replay;
		if (!replay || replay.checking || this.#considered() < replay.target) return;
		this.#replay = null;
		this.#write(replay.answer({ kind: 'resumed', replayed: replay.replayed }));
	}

	#writeDueControls(): boolean {
		for (let control = this.#outbox.peekControl(); control; control = this.#outbox.peekControl()) {
			if (control.afterSeq > this.#considered()) return true;
			this.#outbox.shiftControl();
			if (!this.#write(control.frame) && !this.#options.isOpen()) return false;
		}
		return true;
	}

	#recordDrop(seq: number): void {
		this.#options.counters.eventsDropped += 1;
		const d = this.#dropped;
		if (!d) this.#dropped = { count: 1, from_seq: seq, to_seq: seq };
		else {
			d.count += 1;
			d.to_seq = seq;
		}
	}

	#writeDropped(): void {
		const dropped = this.#dropped;
		if (!dropped) return;
		this.#dropped = null;
		this.#options.logger.debug(
			{ client_id: this.#options.clientId, ...dropped },
			'events dropped for a slow client'
		);
		this.#write(encodeControl('dropped', dropped));
	}

	#awaitDrain(): void {
		// `drain` resumes, and the timer bounds the wait if it never comes (a closing socket); the
		// socket holds unsent bytes now, so a `drain` is still to come after this listener is added
		this.#waitingDrain = true;
		if (!this.#drainListened && this.#options.isOpen()) {
			this.#drainListened = true;
			this.#onDrain ??= () => {
				this.#waitingDrain = false;
				this.#schedule(true);
			};
			this.#options.rawSocket?.on('drain', this.#onDrain);
		}
		this.#retryLater();
	}

	#retryLater(): void {
		if (this.#retryTimer) return;
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = null;
			this.#waitingDrain = false;
			this.#flush();
		}, this.#options.batchFlushMs);
		this.#retryTimer.unref();
	}

	#writeEvents(batch: HistoryEntry[]): void {
		const n = batch.length;
		const { counters, onDelivered, batchMaxEvents } = this.#options;
		const { frames, batches } = frameCounts(batch, batchMaxEvents);
		let size = batches * BATCH_OVERHEAD + n - frames;
		for (let i = 0; i < n; i++) size += batch[i]!.frame.length;
		const deflate = this.#options.deflate === true;
		// a replay's frames go to this client alone (bar clients resuming from the same seq at once):
		// built straight into one buffer (reused memory, lent until the socket is done with it), one
		// copy per event; live events behind the stream take the batch frames every reader shares,
		// written corked (see #flush) as they are
		const own = this.#replay !== null && !deflate;
		// no frame's header is longer than that of one frame holding the whole run
		const lease =
			own && this.#options.rawSocket?.write
				? this.#options.wireBuffers?.lease(size + frames * wireHeadLength(size))
				: undefined;
		const wire = own
			? framesWire(batch, frameEnds(batch, batchMaxEvents), lease?.buffer)
			: this.#frames.parts(batch, batchMaxEvents, deflate);
		if (!this.#writeWire(wire, size, frames, lease?.release)) return;
		counters.batchesSent += batches;
		counters.eventsDelivered += n;
		this.#lastWrittenSeq = batch[n - 1]!.seq;
		if (onDelivered) {
			let sum = 0;
			for (let i = 0; i < n; i++) sum += batch[i]!.at;
			onDelivered(performance.now() - sum / n, n);
		}
	}

	/** Writes a control reply (a string or an encoded payload). */
	#write(data: string | Buffer): boolean {
		if (!this.#options.isOpen() || this.#options.socket.readyState !== WebSocket.OPEN) return false;
		const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
		return this.#writeWire(this.#frames.control(data, this.#options.deflate === true), size);
	}

	/**
	 * Writes whole frames (`count` of them, back to back in `wire` or its buffers); `size` is their
	 * payload before compression, for the byte counters. `done` (one buffer written to the raw
	 * socket) once the socket is done with its bytes; at once when nothing is written.
	 */
	#writeWire(wire: Buffer | readonly Buffer[], size: number, count = 1, done?: () => void): boolean {
		const { socket, counters } = this.#options;
		if (!this.#options.isOpen() || socket.readyState !== WebSocket.OPEN) {
			done?.();
			return false;
		}
		try {
			// one buffer (a live run, every member's; a replay) or a reader's batch frames: no array
			// is made per write for the first
			if (Buffer.isBuffer(wire)) this.#send(wire, done);
			else for (const buffer of wire) this.#send(buffer);
		} catch (err) {
			// a socket that started closing under us: transient, the close handler cleans up
			counters.transientErrors += 1;
			this.#options.logger.debug({ err, client_id: this.#options.clientId }, 'write failed');
			return false;
		}
		counters.messagesSent += count;
		counters.bytesSent += size;
		return true;
	}

	#send(buffer: Buffer, done?: () => void): void {
		const { socket, rawSocket } = this.#options;
		if (rawSocket?.write) rawSocket.write(buffer, done);
		// without the raw socket (specs), ws frames each payload itself; always as text
		else for (const payload of payloadsOf(buffer)) socket.send(payload, { binary: false });
	}
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
	return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** how many events the runs hold */
function eventsOf(runs: readonly SharedRun[]): number {
	let n = 0;
	for (const run of runs) n += run.entries.length;
	return n;
}
