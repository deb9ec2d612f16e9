/**
 * @module cli/exec/leftovers
 * Delivers the spools earlier `aco exec` runs could not (the server was down when they gave
 * up). Each `aco` command that talks to a server calls this on the side; a spool whose command
 * never finished (aco was killed) is closed as failed first, so its task does not run for ever.
 * The command's token goes only to the command's own server: a spool kept for another server
 * is sent with the token `aco login` kept for that server, if any.
 */
import type { CliError, Connection } from '../args';
import { serverKey } from '../credentials';
import { AcoHttp, HttpError } from '../http';
import { Delivery, SpoolUnreadableError } from './delivery';
import { leftoverSpools, spoolDir } from './spool';

export const DEFAULT_LEFTOVER_TIMEOUT_MS = 5_000;

export interface LeftoverOptions {
	/** the address the command talks to: only spools for this server get `token` */
	url: Connection['url'];
	token: Connection['token'];
	timeoutMs?: number;
	dir?: string;
	notice?: (text: string) => void;
}

/** Tries each leftover spool once (bounded by `timeoutMs`); returns how many were delivered. */
export async function deliverLeftovers(options: LeftoverOptions): Promise<number> {
	const { url, token, timeoutMs, dir, notice } = {
		timeoutMs: DEFAULT_LEFTOVER_TIMEOUT_MS,
		dir: spoolDir(),
		...options
	};
	let delivered = 0;
	// servers found away in this pass: their other spools wait, those for other servers still go
	const away = new Set<string>();
	for (const spool of leftoverSpools(dir)) {
		const server = keyOf(spool.header.url) ?? spool.header.url;
		if (away.has(server)) continue;
		if (!spool.state.complete) {
			spool.append([
				{ type: 'status', status: 'failed', error: 'aco exec stopped before the command ended' }
			]);
			spool.markComplete();
		}
		let http: AcoHttp;
		try {
			http = new AcoHttp({
				url: spool.header.url,
				// undefined: AcoHttp falls back to the token kept for the spool's server
				token: sameServer(spool.header.url, url) ? token : undefined
			});
		} catch (err) {
			// the token kept for that server cannot be sent (hand-edited): this spool waits, the others go
			notice?.(
				`kept the log of "${spool.header.task.name}" for ${spool.header.url}: ${err instanceof Error ? err.message : String(err)}`
			);
			continue;
		}
		const delivery = new Delivery({
			http,
			spool,
			retryMaxMs: 500,
			// another command is waiting: one failed attempt is enough to know the server is still away
			onOffline: () => delivery.stop()
		});
		const outcome = await delivery.drain(timeoutMs);
		delivery.stop();
		if (outcome === 'delivered') {
			spool.remove();
			delivered++;
			notice?.(
				`sent the kept log of "${spool.header.task.name}" to ${spool.header.url} (task ${spool.state.task_id}).`
			);
		} else if (outcome === 'pending') {
			// still unreachable: its other spools are not tried, rather than wait the timeout for each
			away.add(server);
		} else if (refusedForGood(delivery.rejection)) {
			// the server would refuse it the same way every time: set aside, said once
			const file = spool.setAside();
			notice?.(
				`${spool.header.url} refused the kept log of "${spool.header.task.name}" (${delivery.rejection?.message ?? 'refused'}); it is set aside in ${file}.`
			);
		} else {
			// not aco answering (a captive portal, a maintenance page), or a refusal signing in may
			// cure: this server's logs wait for the next command
			away.add(server);
		}
	}
	return delivered;
}

/**
 * aco refused the log with a 4xx that signing in (aco login, 401/403) cannot cure, or the log
 * cannot be read back: sending it again would end the same way
 */
function refusedForGood(err: CliError | null): boolean {
	if (err instanceof SpoolUnreadableError) return true;
	return (
		err instanceof HttpError &&
		err.status >= 400 &&
		err.status < 500 &&
		err.status !== 401 &&
		err.status !== 403
	);
}

/** the server an address names, as `aco login` keys its tokens; null when it is no address */
function keyOf(url: string): string | null {
	try {
		return serverKey(url);
	} catch {
		return null;
	}
}

/** whether two addresses name the same server, as `aco login` keys its tokens */
function sameServer(a: string, b: string): boolean {
	const key = keyOf(a);
	// a spool file anyone could have written may hold anything as its address: never the same
	return key !== null && key === keyOf(b);
}
