/**
 * @module auth/bind
 * Without credentials, anyone who reaches the server can run commands on this machine and read
 * every log. That is acceptable when only this machine's users reach it, and nowhere else: a
 * server without any token refuses to start when asked to listen beyond loopback, and when it
 * is published under a name beyond loopback (`ACO_PUBLIC_URL`, `ACO_ALLOWED_HOSTS`). Bound to
 * loopback behind a reverse proxy, every request arrives from 127.0.0.1, so the address it binds
 * says nothing about who reaches it; the names it is told to answer to do.
 *
 * (A token variable that is set but configures no token is refused in ./tokens.ts.)
 */
import { GENERATE_HINT } from './tokens';
import { isLoopbackHost } from './hosts';

const CONFIGURE_TOKENS =
	`Configure tokens (ACO_TOKEN=<operator token>, ACO_TOKENS="viewer:<token>,operator:<token>" or ACO_TOKENS_FILE=<file>; ` +
	`make a token with "${GENERATE_HINT}")`;

/** Throws, saying how to configure credentials, when `host` is beyond loopback and no token is configured. */
export function assertSafeBinding(host: string, tokenCount: number): void {
	if (tokenCount > 0 || isLoopbackHost(host)) return;
	throw new Error(
		`refusing to listen on ${host} without credentials: anyone who can reach it could run commands and read every log. ` +
			`${CONFIGURE_TOKENS}, or listen on 127.0.0.1 (HOST).`
	);
}

/** The part of the access configuration (AccessConfig) that tells whether the server is published. */
export interface Publication {
	tokens: readonly unknown[];
	/** origins, as ACO_PUBLIC_URL gives them */
	publicUrls: readonly string[];
	/** `host[:port]`, as ACO_ALLOWED_HOSTS gives them */
	allowedHosts: readonly string[];
}

/**
 * Throws, saying how to configure credentials, when no token is configured and the server is
 * published: `ACO_PUBLIC_URL` or `ACO_ALLOWED_HOSTS` names a host beyond loopback. Loopback names
 * (a local proxy on another port, `http://localhost:8080`) publish nothing beyond this machine.
 */
export function assertCredentialsWhenPublished(access: Publication): void {
	if (access.tokens.length > 0) return;
	const published = [
		...access.publicUrls
			.filter((url) => !isLoopbackHost(new URL(url).hostname))
			.map((url) => ['ACO_PUBLIC_URL', url]),
		...access.allowedHosts
			.filter((host) => !isLoopbackHost(new URL(`http://${host}`).hostname))
			.map((host) => ['ACO_ALLOWED_HOSTS', host])
	];
	if (published.length === 0) return;
	const [variable, name] = published[0];
	throw new Error(
		`refusing to start without credentials: ${variable} (${name}) publishes this server beyond this machine, ` +
			`and behind a reverse proxy every request comes from loopback, so anyone who reaches ${name} could run commands and read every log. ` +
			`${CONFIGURE_TOKENS}, or unset ACO_PUBLIC_URL and ACO_ALLOWED_HOSTS to use it from this machine only.`
	);
}
