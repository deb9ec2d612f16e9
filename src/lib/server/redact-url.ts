/**
 * @module redact-url
 * A service's URL (`ACO_DATABASE_URL`, `ACO_REDIS_URL`) as logs and figures show it: the password
 * reads `***`, in the user part and in the query string too (`?password=…`, which both the
 * PostgreSQL and the Redis client accept), as does any other parameter whose name says it
 * holds a secret. Host, port, database and the other parameters stay: they say where it points.
 *
 * @example
 * redactUrl('redis://:s3cret@10.0.0.5:6379/0') // 'redis://:***@10.0.0.5:6379/0'
 * redactUrl('postgres://aco@db/aco?sslmode=require&password=s3cret') // 'postgres://aco@db/aco?sslmode=require&password=***'
 */
import { MASK } from './masking/mask-set';

/** query parameter names that say their value is a secret (`password`, `sslpassword`, `auth_token`, `apiKey` …) */
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|cred/i;

/** What stands for a URL that does not parse: none of its text, which may hold anything. */
export const UNPARSABLE_URL = '(unparsable URL)';

export function redactUrl(url: string): string {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return UNPARSABLE_URL;
	}
	if (parsed.password) parsed.password = MASK;
	// by hand rather than through URLSearchParams, which would re-encode the parameters it keeps
	if (parsed.search.length > 1) {
		parsed.search = parsed.search
			.slice(1)
			.split('&')
			.map((part) => {
				const eq = part.indexOf('=');
				const name = eq < 0 ? part : part.slice(0, eq);
				return SECRET_PARAM.test(decoded(name)) ? `${name}=${MASK}` : part;
			})
			.join('&');
	}
	return parsed.toString();
}

function decoded(text: string): string {
	try {
		return decodeURIComponent(text.replaceAll('+', ' '));
	} catch {
		return text;
	}
}
