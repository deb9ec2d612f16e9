/**
 * @module realtime/test-connection
 * A connection on fake sockets and a fake network for specs: `accept()` plays the server's
 * open + welcome on the newest socket.
 */
import type { WelcomeData } from '$lib/protocol';
import { RealtimeConnection, type ConnectionOptions } from './connection.svelte';
import { socketFactory } from './test-socket';

export function connectionHarness(options: ConnectionOptions = {}) {
	const factory = socketFactory();
	const target = new EventTarget();
	let online = true;
	const connection = new RealtimeConnection({
		url: 'ws://aco.test/ws',
		createSocket: factory.create,
		target,
		isOnline: () => online,
		now: () => Date.now(),
		backoff: { random: () => 0.5 },
		...options
	});
	return {
		connection,
		factory,
		setOnline(value: boolean) {
			online = value;
			target.dispatchEvent(new Event(value ? 'online' : 'offline'));
		},
		/** opens the newest socket and sends the welcome */
		accept(welcome: Partial<WelcomeData> = {}) {
			factory.last.open();
			factory.last.welcome(welcome);
			return factory.last;
		}
	};
}
