/**
 * @module cli/follow/reconnect-budget
 * How long a follower keeps reconnecting to a hub it cannot reach. The client reconnects as the
 * close code says, with no end of its own (a dashboard waits for ever); a follower, like its REST
 * loads (rest-retry), gives up once it has had no connection for the budget: a server restarting
 * comes back well within it, one that has stopped does not.
 */
import type { RealtimeClient } from '../realtime/client';
import { DEFAULT_RETRY_BUDGET_MS } from '../realtime/rest-retry';

export interface ReconnectBudgetOptions {
	/** how long without a connection before giving up (DEFAULT_RETRY_BUDGET_MS, as REST loads) */
	budgetMs?: number;
	/** the one line to end with: it names the hub and how long it was tried */
	onGiveUp: (message: string) => void;
}

/**
 * Calls `onGiveUp` once the client has had no connection for the budget: from now (it is about
 * to connect) and from each loss of the connection; a connection made starts the count afresh.
 * Returns the function that stops watching; the client's destruction stops it too.
 *
 * @example
 * const stop = watchReconnects(client, { onGiveUp: (message) => end(new Error(message)) });
 */
export function watchReconnects(
	client: Pick<RealtimeClient, 'url' | 'state' | 'onStateChange'>,
	options: ReconnectBudgetOptions
): () => void {
	const budgetMs = options.budgetMs ?? DEFAULT_RETRY_BUDGET_MS;
	let timer: NodeJS.Timeout | null = null;
	const clear = () => {
		if (timer) clearTimeout(timer);
		timer = null;
	};
	const start = () => {
		if (timer) return;
		// not unref'd: while the follower waits for the hub, this may be all that keeps it running
		timer = setTimeout(() => {
			timer = null;
			options.onGiveUp(
				`no connection to the aco server at ${client.url} for ${seconds(budgetMs)}; giving up (is it running? check --url or ACO_URL).`
			);
		}, budgetMs);
	};
	const watch = (state: RealtimeClient['state']) => {
		if (state === 'connected' || state === 'offline') clear();
		else start();
	};
	const off = client.onStateChange((state) => watch(state));
	watch(client.state === 'offline' ? 'connecting' : client.state);
	return () => {
		off();
		clear();
	};
}

function seconds(ms: number): string {
	return ms % 60_000 === 0 && ms >= 60_000 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}
