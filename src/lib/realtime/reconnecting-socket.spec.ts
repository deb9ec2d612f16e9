import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionState, SocketOptions } from './connection-types';
import { MAX_UNANSWERED_HEARTBEATS, ReconnectingSocket } from './reconnecting-socket';
import { socketFactory } from './test-socket';

function setup(options: Partial<SocketOptions> = {}) {
	const factory = socketFactory();
	const texts: string[] = [];
	const states: string[] = [];
	const socket = new ReconnectingSocket(
		{
			url: 'ws://aco.test/ws',
			createSocket: factory.create,
			target: new EventTarget(),
			isOnline: () => true,
			backoff: { random: () => 0.5 },
			stableAfterMs: 5000,
			welcomeTimeoutMs: 1000,
			log: (message, err) => console.error(message, err),
			...options
		},
		{
			onText: (raw) => texts.push(raw),
			onStateChange: (state: ConnectionState, previous: ConnectionState) =>
				states.push(`${previous}->${state}`)
		}
	);
	return { socket, factory, texts, states };
}

describe('ReconnectingSocket', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('is connected only once its owner says the connection is established', () => {
		const { socket, factory, states } = setup();
		socket.connect();
		factory.last.open();
		expect(socket.state).toBe('connecting');
		socket.established(30_000, () => {});
		expect(socket.state).toBe('connected');
		expect(socket.hasConnected).toBe(true);
		expect(states).toEqual(['connecting->connected']);
		socket.destroy();
	});

	it('hands its owner the text frames of the current socket only', () => {
		const { socket, factory, texts } = setup();
		socket.connect();
		const first = factory.last;
		first.open();
		first.onmessage?.({ data: 'one' });
		first.onmessage?.({ data: new ArrayBuffer(2) });
		first.serverClose(1006);
		first.onmessage?.({ data: 'late' });
		vi.runOnlyPendingTimers();
		factory.last.open();
		factory.last.onmessage?.({ data: 'two' });
		expect(texts).toEqual(['one', 'two']);
		socket.destroy();
	});

	it('sends only while the socket is open', () => {
		const { socket, factory } = setup();
		const beat = { type: 'connection.heartbeat' } as const;
		expect(socket.send(beat)).toBe(false);
		socket.connect();
		expect(socket.send(beat)).toBe(false);
		factory.last.open();
		expect(socket.send(beat)).toBe(true);
		factory.last.serverClose(1006);
		expect(socket.send(beat)).toBe(false);
		expect(factory.sockets[0]!.sent).toEqual([beat]);
		socket.destroy();
	});

	it('retries with backoff when the socket cannot even be created', () => {
		const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
		let fail = true;
		const factory = socketFactory();
		const { socket } = setup({
			createSocket: (url) => {
				if (fail) throw new Error('blocked');
				return factory.create(url);
			}
		});
		socket.connect();
		expect(socket.state).toBe('reconnecting');
		expect(socket.lastClose).toEqual({ code: 1006, reason: 'could not open the socket' });
		expect(errors).toHaveBeenCalled();
		fail = false;
		vi.runOnlyPendingTimers();
		expect(factory.sockets).toHaveLength(1);
		errors.mockRestore();
		socket.destroy();
	});

	it('beats at the given interval once established and stops when the socket closes', () => {
		const { socket, factory } = setup();
		const beat = vi.fn();
		socket.connect();
		factory.last.open();
		socket.established(1000, beat);
		vi.advanceTimersByTime(2500);
		expect(beat).toHaveBeenCalledTimes(2);
		factory.last.serverClose(1006);
		vi.advanceTimersByTime(200);
		socket.destroy();
		vi.advanceTimersByTime(10_000);
		expect(beat).toHaveBeenCalledTimes(2);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('drops a socket that leaves several heartbeats in a row unanswered (a silent network drop), and reconnects', () => {
		const { socket, factory, states } = setup();
		const beat = vi.fn();
		socket.connect();
		const first = factory.last;
		first.open();
		socket.established(1000, beat);
		// answered: anything the server sends counts
		for (let i = 0; i < 5; i++) {
			vi.advanceTimersByTime(1000);
			first.onmessage?.({ data: '{"type":"connection.heartbeat"}' });
		}
		expect(beat).toHaveBeenCalledTimes(5);
		expect(socket.state).toBe('connected');
		// then nothing comes back
		vi.advanceTimersByTime(MAX_UNANSWERED_HEARTBEATS * 1000);
		expect(beat).toHaveBeenCalledTimes(5 + MAX_UNANSWERED_HEARTBEATS);
		expect(socket.state).toBe('connected');
		vi.advanceTimersByTime(1000);
		expect(beat).toHaveBeenCalledTimes(5 + MAX_UNANSWERED_HEARTBEATS);
		expect(socket.state).toBe('reconnecting');
		expect(socket.lastClose).toEqual({ code: 4000, reason: 'the server stopped answering' });
		expect(states.at(-1)).toBe('connected->reconnecting');
		vi.runOnlyPendingTimers();
		expect(factory.last).not.toBe(first);
		socket.destroy();
	});
});
