/**
 * @module bus/redis/test-support
 * What the Redis specs share: a real Redis per spec file ({@link useTestRedis}), a bus on it with
 * short timings, a listener that records what a node delivered, and events to publish.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '../../../../../tests/helpers/redis';
import type { AnyDomainEvent, OutputLine } from '../../../protocol/events';
import type { NumberedEvent } from './codec';
import { RedisBus, type RedisBusOptions } from './redis-bus';
import type { StreamPosition } from './reader';

export const quietLogger = pino({ level: 'silent' });

let prefixes = 0;

/** A key prefix of its own per test, so tests on one Redis do not see each other. */
export function testPrefix(): string {
	prefixes += 1;
	return `t${process.pid}-${randomBytes(3).toString('hex')}-${prefixes}:`;
}

/** A `tool.lines` event carrying the one line `line` of `task`. */
export function outputEvent(task: string, line: number): AnyDomainEvent {
	return {
		type: 'tool.lines',
		timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, line % 1000)).toISOString(),
		data: {
			task_id: task,
			run_id: null,
			execution_id: `exec_${task}`,
			lines: [{ line, output: `line ${line}`, is_stderr: false, timestamp: '2026-01-01T00:00:00.000Z' }]
		}
	};
}

/** `task:line` for each line a `tool.lines` event carries, in order (none for another event). */
export function lineKeys(event: AnyDomainEvent): string[] {
	if (event.type !== 'tool.lines') return [];
	return event.data.lines.map((line: OutputLine) => `${event.data.task_id}:${line.line}`);
}

export interface Recorded {
	events: NumberedEvent[];
	resets: { to: StreamPosition; missed: number | null; reason: string }[];
	/** `task:line` per line of the delivered `tool.lines` events, in delivery order */
	lines(): string[];
	seqs(): number[];
}

export function record(bus: RedisBus): Recorded {
	const recorded: Recorded = {
		events: [],
		resets: [],
		lines: () => recorded.events.flatMap((n) => lineKeys(n.event)),
		seqs: () => recorded.events.map((n) => n.seq)
	};
	bus.stream.listen({
		event: (n) => recorded.events.push(n),
		reset: (to, missed, reason) => recorded.resets.push({ to: { ...to }, missed, reason })
	});
	return recorded;
}

export type TestBusOptions = Partial<Omit<RedisBusOptions, 'url' | 'logger'>>;

export async function startBus(url: string, prefix: string, options: TestBusOptions = {}): Promise<RedisBus> {
	const bus = new RedisBus({
		url,
		prefix,
		history: { maxEvents: 10_000, maxBytes: 0, maxAgeMs: 0 },
		blockMs: 200,
		startupWaitMs: 5_000,
		logger: quietLogger,
		...options
	});
	await bus.start();
	return bus;
}

/** A plain client for poking at Redis from a test. */
export function rawClient(url: string): Redis {
	return new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
}

/**
 * A real Redis for the spec file that calls this at its top: started before its tests and stopped
 * after them, with a raw client on it; what a test `track`s is closed after that test.
 */
export function useTestRedis() {
	let server: RedisServer | undefined;
	let client: Redis | undefined;
	const open: { close(): Promise<void> }[] = [];
	beforeAll(async () => {
		server = await startRedis();
		client = rawClient(server.url);
	});
	afterAll(async () => {
		client?.disconnect();
		await server?.close();
	});
	afterEach(async () => {
		await Promise.all(open.splice(0).map((opened) => opened.close()));
	});
	return {
		get server(): RedisServer {
			return server!;
		},
		get raw(): Redis {
			return client!;
		},
		/** how many the running test has opened */
		get tracked(): number {
			return open.length;
		},
		track<T extends { close(): Promise<void> }>(opened: T): T {
			open.push(opened);
			return opened;
		}
	};
}
