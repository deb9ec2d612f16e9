/**
 * @module protocol/connect-subscriptions
 * Subscriptions a client names in the hub's upgrade URL, so it is subscribed without a round
 * trip of its own: `/ws?subscribe=<json>&subscribe=<json>`, each value a `subscribe` message's
 * fields without its `type` (`{"sub":"tasks","filter":{"types":["task.*"]},"max_rate":4}`). A
 * hub that speaks protocol {@link CONNECT_SUBSCRIPTIONS_SINCE} or later takes them right after
 * its `welcome` and answers each as it answers the message (`subscribed`, or `error` with what
 * was wrong: the connection stays open), in the same write as the welcome. An older hub ignores
 * them, so a client sends them again as messages when the welcome names an older protocol.
 */
import { MAX_SUBSCRIPTIONS_PER_CLIENT } from './limits';
import { validateClientMessage, type EventFilter, type ParseResult } from './messages';

/** The query parameter, repeated once per subscription. */
export const SUBSCRIBE_PARAM = 'subscribe';
/** The first protocol version whose hub takes subscriptions from the upgrade URL. */
export const CONNECT_SUBSCRIPTIONS_SINCE = 2;
/** Most characters a client adds to the URL; subscriptions beyond go as messages after the welcome. */
export const MAX_CONNECT_QUERY_CHARS = 4096;

/** One subscription as the URL carries it: the `subscribe` message's fields without `type`. */
export interface ConnectSubscription {
	sub: string;
	filter: EventFilter;
	max_rate?: number;
	/** the message id the hub names (`ref`) in its answer, an `error` included */
	id?: string;
}

/**
 * `url` with as many of `subscriptions` as fit in `maxChars`, in order (a long list of ids
 * can make one too long to carry). `carried` is how many it took: the first `carried` of them.
 */
export function withConnectSubscriptions(
	url: string,
	subscriptions: readonly ConnectSubscription[],
	maxChars = MAX_CONNECT_QUERY_CHARS
): { url: string; carried: number } {
	let query = '';
	let carried = 0;
	for (const subscription of subscriptions) {
		const param = `${SUBSCRIBE_PARAM}=${encodeURIComponent(JSON.stringify(subscription))}`;
		if (query.length + param.length + 1 > maxChars) break;
		query += `&${param}`;
		carried += 1;
	}
	if (carried === 0) return { url, carried };
	const hash = url.indexOf('#');
	const base = hash < 0 ? url : url.slice(0, hash);
	const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
	return { url: `${base}${separator}${query.slice(1)}`, carried };
}

/**
 * The `subscribe` messages an upgrade request's URL (path and query, as `req.url`) carries,
 * each checked as the message would be; an entry that is not valid is a failed result whose
 * message says which parameter it was. Never throws.
 */
export function connectSubscriptions(requestUrl: string | undefined): ParseResult[] {
	if (!requestUrl) return [];
	const query = requestUrl.indexOf('?');
	// most upgrades carry no subscriptions: no parsing at all for them
	if (query < 0 || !requestUrl.includes(`${SUBSCRIBE_PARAM}=`, query)) return [];
	const values = new URLSearchParams(requestUrl.slice(query + 1)).getAll(SUBSCRIBE_PARAM);
	// a client holds at most this many: more is answered with one error, not one per parameter
	const over =
		values.length > MAX_SUBSCRIPTIONS_PER_CLIENT
			? [
					failed(
						'too_many_subscriptions',
						`The upgrade URL names ${values.length} subscriptions; a client may hold at most ${MAX_SUBSCRIPTIONS_PER_CLIENT}.`
					)
				]
			: [];
	return values
		.slice(0, MAX_SUBSCRIPTIONS_PER_CLIENT)
		.map((value, i): ParseResult => {
			const where = `The upgrade URL's subscribe parameter ${i + 1}`;
			let json: unknown;
			try {
				json = JSON.parse(value);
			} catch {
				return failed(
					'invalid_json',
					`${where} is not valid JSON: send a subscribe message's fields as a JSON object.`
				);
			}
			if (typeof json !== 'object' || json === null || Array.isArray(json)) {
				return failed('invalid_message', `${where} must be a JSON object (a subscribe message's fields).`);
			}
			const result = validateClientMessage({ ...json, type: 'subscribe' });
			if (result.ok) return result;
			return { ok: false, error: { ...result.error, message: `${where}: ${result.error.message}` } };
		})
		.concat(over);
}

function failed(code: string, message: string): ParseResult {
	return { ok: false, error: { code, message, retryable: false } };
}
