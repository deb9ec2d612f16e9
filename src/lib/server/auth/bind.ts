/**
 * @module auth/bind
 * Without credentials, anyone who reaches the server can run commands on this machine and read
 * every log. That is acceptable on loopback (only this machine's users reach it) and nowhere
 * else: a server asked to listen beyond loopback without any token refuses to start.
 */
import { GENERATE_HINT } from './tokens';
import { isLoopbackHost } from './hosts';

/** Throws, saying how to configure credentials, when `host` is beyond loopback and no token is configured. */
export function assertSafeBinding(host: string, tokenCount: number): void {
	if (tokenCount > 0 || isLoopbackHost(host)) return;
	throw new Error(
		`refusing to listen on ${host} without credentials: anyone who can reach it could run commands and read every log. ` +
			`Configure tokens (ACO_TOKEN=<operator token>, ACO_TOKENS="viewer:<token>,operator:<token>" or ACO_TOKENS_FILE=<file>; ` +
			`make a token with "${GENERATE_HINT}"), or listen on 127.0.0.1 (HOST).`
	);
}
