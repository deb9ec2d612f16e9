/**
 * @module redact-url
 * A service's URL (`ACO_DATABASE_URL`, `ACO_REDIS_URL`) as logs and figures show it: the password
 * reads `***`, in the user part and in the query string too (`?password=…`, which both the
 * PostgreSQL and the Redis client accept), as does any other parameter whose name says it
 * holds a secret. Host, port, database and the other parameters stay: they say where it points.
 * A URL the WHATWG parser refuses (pg accepts a Unix socket as `postgresql://u:p@/db?host=/run/pg`;
 * a password with an unencoded `/` or `#`) is redacted by its shape instead.
 *
 * @example
 * redactUrl('redis://:s3cret@10.0.0.5:6379/0') // 'redis://:***@10.0.0.5:6379/0'
 * redactUrl('postgres://aco@db/aco?sslmode=require&password=s3cret') // 'postgres://aco@db/aco?sslmode=require&password=***'
 * redactUrl('postgresql://aco:s3cret@/aco?host=/var/run/postgresql') // 'postgresql://aco:***@/aco?host=/var/run/postgresql'
 */
import { MASK } from './masking/mask-set';

/** query parameter names that say their value is a secret (`password`, `sslpassword`, `auth_token`, `apiKey` …) */
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|cred/i;

/** What stands for text that is not even shaped like `scheme://…`: none of it, which may hold anything. */
export const UNPARSABLE_URL = '(unparsable URL)';

export function redactUrl(url: string): string {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		// pg reads URLs the WHATWG parser refuses (a Unix socket: `postgresql://u:p@/db?host=/run/pg`)
		return redactByPattern(url);
	}
	// an `@` past the user part: a password holding an unencoded `/`, `?` or `#` ended it early,
	// and the rest of the password now reads as a path, a query or a fragment
	if (`${parsed.pathname}${parsed.search}${parsed.hash}`.includes('@')) return redactByPattern(url);
	if (parsed.password) parsed.password = MASK;
	// no part of a service's address: it could only be the tail of something misread
	if (parsed.hash) parsed.hash = MASK;
	if (parsed.search.length > 1) parsed.search = redactQuery(parsed.search.slice(1));
	return parsed.toString();
}

/** `scheme://user:password@rest` */
const URL_SHAPE = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is;

/**
 * A URL the parser refuses, redacted by its shape: everything between the user name and the LAST
 * `@` is the password (which may hold any character, so this errs towards hiding more), and the
 * query string is redacted as usual. Not even that shape: none of it.
 */
function redactByPattern(url: string): string {
	const shape = URL_SHAPE.exec(url);
	if (!shape) return UNPARSABLE_URL;
	const [, scheme, rest] = shape;
	const at = rest.lastIndexOf('@');
	let user = '';
	let after = rest;
	if (at >= 0) {
		const info = rest.slice(0, at);
		const colon = info.indexOf(':');
		user = colon < 0 ? `${info}@` : `${info.slice(0, colon)}:${MASK}@`;
		after = rest.slice(at + 1);
	}
	// a fragment is no part of a service's address: whatever follows `#` stays out
	const hash = after.indexOf('#');
	if (hash >= 0) after = `${after.slice(0, hash)}#${MASK}`;
	const query = after.indexOf('?');
	if (query >= 0) {
		const end = hash >= 0 ? after.lastIndexOf('#') : after.length;
		after = `${after.slice(0, query)}${redactQuery(after.slice(query + 1, end))}${after.slice(end)}`;
	}
	return `${scheme}${user}${after}`;
}

/** `a=1&password=x` → `?a=1&password=***`: by hand rather than through URLSearchParams, which would re-encode the parameters it keeps */
function redactQuery(query: string): string {
	return (
		'?' +
		query
			.split('&')
			.map((part) => {
				const eq = part.indexOf('=');
				const name = eq < 0 ? part : part.slice(0, eq);
				return SECRET_PARAM.test(decoded(name)) ? `${name}=${MASK}` : part;
			})
			.join('&')
	);
}

function decoded(text: string): string {
	try {
		return decodeURIComponent(text.replaceAll('+', ' '));
	} catch {
		return text;
	}
}
