import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientState } from '../realtime/client';
import { watchReconnects } from './reconnect-budget';

/** the slice of a RealtimeClient the budget reads, its state set by the test */
function fakeClient(initial: ClientState = 'offline') {
	const handlers = new Set<(state: ClientState, previous: ClientState) => void>();
	const client = {
		url: 'ws://127.0.0.1:1/ws',
		state: initial,
		onStateChange(handler: (state: ClientState, previous: ClientState) => void) {
			handlers.add(handler);
			return () => handlers.delete(handler);
		},
		set(state: ClientState) {
			const previous = client.state;
			client.state = state;
			for (const handler of handlers) handler(state, previous);
		},
		listeners: () => handlers.size
	};
	return client;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('watchReconnects', () => {
	it('gives up once, naming the hub and how long, when no connection comes for the budget', () => {
		const client = fakeClient();
		const onGiveUp = vi.fn();
		watchReconnects(client, { budgetMs: 120_000, onGiveUp });
		client.set('connecting');
		client.set('reconnecting');
		vi.advanceTimersByTime(119_999);
		expect(onGiveUp).not.toHaveBeenCalled();
		vi.advanceTimersByTime(1);
		expect(onGiveUp).toHaveBeenCalledTimes(1);
		expect(onGiveUp).toHaveBeenCalledWith(
			'no connection to the aco server at ws://127.0.0.1:1/ws for 2 min; giving up (is it running? check --url or ACO_URL).'
		);
	});

	it('counts from the loss of the connection, so a server that restarts within the budget is waited for', () => {
		const client = fakeClient();
		const onGiveUp = vi.fn();
		watchReconnects(client, { budgetMs: 1_000, onGiveUp });
		client.set('connecting');
		vi.advanceTimersByTime(900);
		client.set('connected');
		// connected far longer than the budget: no count runs meanwhile
		vi.advanceTimersByTime(5_000);
		client.set('reconnecting');
		vi.advanceTimersByTime(900);
		client.set('connecting');
		vi.advanceTimersByTime(50);
		client.set('connected');
		vi.advanceTimersByTime(5_000);
		expect(onGiveUp).not.toHaveBeenCalled();
		client.set('reconnecting');
		vi.advanceTimersByTime(1_000);
		expect(onGiveUp).toHaveBeenCalledTimes(1);
		expect(onGiveUp.mock.calls[0][0]).toContain('for 1 s;');
	});

	it('stops counting when stopped or when the client goes offline', () => {
		const client = fakeClient();
		const onGiveUp = vi.fn();
		const stop = watchReconnects(client, { budgetMs: 1_000, onGiveUp });
		client.set('reconnecting');
		client.set('offline');
		vi.advanceTimersByTime(2_000);
		stop();
		expect(client.listeners()).toBe(0);
		const other = fakeClient();
		const stopOther = watchReconnects(other, { budgetMs: 1_000, onGiveUp });
		other.set('reconnecting');
		stopOther();
		vi.advanceTimersByTime(2_000);
		expect(onGiveUp).not.toHaveBeenCalled();
		expect(vi.getTimerCount()).toBe(0);
	});
});
