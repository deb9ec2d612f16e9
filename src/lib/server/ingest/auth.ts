/**
 * @module ingest/auth
 * The bearer token check. With no token configured everything is allowed (the server binds
 * loopback by default); with one, mutations and WebSocket producers must present it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { IngestError } from './ingest-error';

/** Compares in constant time (over digests, so the lengths leak nothing either). */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
	if (!given) return false;
	const a = createHash('sha256').update(given).digest();
	const b = createHash('sha256').update(token).digest();
	return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(header: string | null | undefined): string | null {
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
	return match ? match[1] : null;
}

/** Throws a 401 IngestError unless the header carries the configured token. */
export function assertAuthorized(header: string | null | undefined, token: string | null): void {
	if (token === null) return;
	if (!header) {
		throw new IngestError(
			401,
			'unauthorized',
			'This server requires a token: send "Authorization: Bearer <token>" (ACO_TOKEN or --token for the aco command).'
		);
	}
	if (!tokenMatches(bearerOf(header), token)) {
		throw new IngestError(
			401,
			'unauthorized',
			'The bearer token is not the one this server was started with (its ACO_TOKEN); check the token you send.'
		);
	}
}
