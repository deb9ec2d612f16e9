/**
 * @module realtime/context
 * The layout's one connection, handed to pages through Svelte context.
 */
import { getContext, setContext } from 'svelte';
import type { RealtimeConnection } from './connection.svelte';

const CONNECTION_KEY = Symbol('aco.connection');

/** Call during the root layout's initialisation. */
export function setConnectionContext(connection: RealtimeConnection): RealtimeConnection {
	return setContext(CONNECTION_KEY, connection);
}

/** The connection the layout created; throws outside the layout. */
export function getConnectionContext(): RealtimeConnection {
	const connection = getContext<RealtimeConnection | undefined>(CONNECTION_KEY);
	if (!connection)
		throw new Error('No realtime connection in context: pages must render inside the root layout.');
	return connection;
}
