import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '$lib/realtime/connection-types';
import { watchSession, type WatchedConnection } from './session-watch';

function fakeConnection() {
	let handler: ((state: ConnectionState, previous: ConnectionState) => void) | null = null;
	const connection: WatchedConnection & {
		lastClose: { code: number; reason: string } | null;
		emit(state: ConnectionState, previous: ConnectionState): void;
	} = {
		lastClose: null,
		onStateChange(h) {
			handler = h;
			return () => (handler = null);
		},
		emit(state, previous) {
			handler?.(state, previous);
		}
	};
	return connection;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('session watch', () => {
	it('goes to the sign-in page, once, when the hub says the session ended', () => {
		const connection = fakeConnection();
		const went: string[] = [];
		watchSession(connection, { here: () => '/tasks/t1?exec=e', navigate: (href) => went.push(href) });
		connection.lastClose = { code: 4503, reason: 'signed out' };
		connection.emit('offline', 'connected');
		connection.emit('offline', 'offline');
		expect(went).toEqual(['/signin?next=%2Ftasks%2Ft1%3Fexec%3De&reason=signed_out']);
	});

	it('says the session expired when it did', () => {
		const connection = fakeConnection();
		const went: string[] = [];
		watchSession(connection, { here: () => '/', navigate: (href) => went.push(href) });
		connection.lastClose = { code: 4503, reason: 'sign-in session expired; sign in again' };
		connection.emit('offline', 'connected');
		expect(went).toEqual(['/signin?reason=expired']);
	});

	it('stays on the page after other closes', () => {
		const connection = fakeConnection();
		const went: string[] = [];
		watchSession(connection, {
			here: () => '/',
			navigate: (href) => went.push(href),
			fetch: async () => new Response('{}', { status: 200 })
		});
		connection.lastClose = { code: 1013, reason: 'overloaded' };
		connection.emit('offline', 'connected');
		connection.lastClose = { code: 1001, reason: '' };
		connection.emit('reconnecting', 'connected');
		expect(went).toEqual([]);
	});

	it('asks the server when a reconnect fails, and leaves when it no longer knows the session', async () => {
		const connection = fakeConnection();
		const went: string[] = [];
		const asked: string[] = [];
		let status = 200;
		watchSession(connection, {
			here: () => '/',
			navigate: (href) => went.push(href),
			fetch: async (input) => {
				asked.push(String(input));
				return new Response('{}', { status });
			}
		});
		connection.emit('reconnecting', 'connected');
		await settle();
		expect(asked).toEqual(['/api/v1/session']);
		expect(went).toEqual([]);
		status = 401;
		connection.emit('reconnecting', 'reconnecting');
		connection.emit('connecting', 'reconnecting');
		connection.emit('reconnecting', 'connecting');
		await settle();
		expect(asked).toHaveLength(2);
		expect(went).toEqual(['/signin?reason=expired']);
	});
});
