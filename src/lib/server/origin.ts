/**
 * @module http/origin
 * Which page origins may drive this server from a browser. A page on another site must not
 * open the hub (cross-site WebSocket hijacking would let it read every log) or start and
 * cancel runs (a "simple" cross-site POST needs no preflight). Requests without an Origin
 * header (curl, the CLI, server-to-server) are not browser requests and pass.
 */

/** Parses `ACO_ALLOWED_ORIGINS` (comma-separated exact origins such as `https://ci.example.com`). */
export function parseOrigins(raw: string | undefined): string[] {
	if (!raw) return [];
	const origins: string[] = [];
	for (const part of raw.split(',')) {
		const value = part.trim();
		if (!value) continue;
		let url: URL;
		try {
			url = new URL(value);
		} catch {
			throw new Error(`ACO_ALLOWED_ORIGINS: "${value}" is not an origin such as https://ci.example.com`);
		}
		if (url.origin === 'null' || url.origin !== value.replace(/\/$/, '')) {
			throw new Error(`ACO_ALLOWED_ORIGINS: "${value}" must be a bare origin (scheme://host[:port])`);
		}
		origins.push(url.origin);
	}
	return origins;
}

/**
 * True when a request may proceed: no Origin header, an Origin naming the host the request was
 * sent to (same origin), or one listed exactly in `allowed`.
 */
export function isAllowedOrigin(
	origin: string | null | undefined,
	host: string | null | undefined,
	allowed: readonly string[]
): boolean {
	if (origin === undefined || origin === null || origin === '') return true;
	if (allowed.includes(origin)) return true;
	if (!host) return false;
	try {
		const url = new URL(origin);
		return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
	} catch {
		return false;
	}
}
