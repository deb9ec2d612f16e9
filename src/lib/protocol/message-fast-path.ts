/**
 * @module protocol/message-fast-path
 * The well-formed client messages, checked by hand: the same rules as `clientMessageSchema`
 * (messages.ts), without building zod's parse context for each frame (about 30 µs per
 * `subscribe`, a tenth of a whole handshake). It answers only "valid, and this is the message
 * zod would return" or "not sure": anything it does not accept goes through the schema, which
 * stays the definition and writes the error message. So a message it lets through is one the
 * schema accepts, with the same fields in the same order (the spec compares the two).
 */
import { EVENT_TYPES } from './events';
import type { ClientMessage, EventFilter } from './messages';
import { TASK_STATUSES } from './models';
import { MAX_FILTER_IDS, MAX_SUBSCRIPTION_RATE, MIN_SUBSCRIPTION_RATE } from './limits';
import { SYSTEM_STATS_TYPE } from './system';

const EVENT_TYPE_SET: ReadonlySet<string> = new Set<string>([
	...EVENT_TYPES,
	SYSTEM_STATS_TYPE,
	'task.*',
	'tool.*',
	'workflow.*'
]);
const MAX_TYPES = EVENT_TYPES.length + 1 + 3;
const STATUS_SET: ReadonlySet<string> = new Set<string>(TASK_STATUSES);
const FILTER_KEYS: ReadonlySet<string> = new Set(['task_ids', 'run_ids', 'types', 'statuses']);

type Json = Record<string, unknown>;
type Of<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/** The message zod would return for `json`, or undefined when it is not plainly valid. */
export function wellFormedClientMessage(json: Json): ClientMessage | undefined {
	const id = json.id;
	if (id !== undefined && !isString(id, 0, 128)) return undefined;
	switch (json.type) {
		case 'subscribe': {
			const sub = json.sub === undefined ? 'default' : json.sub;
			if (!isString(sub, 1, 64)) return undefined;
			const filter = json.filter === undefined ? {} : wellFormedFilter(json.filter);
			if (!filter) return undefined;
			const maxRate = json.max_rate;
			if (
				maxRate !== undefined &&
				!(typeof maxRate === 'number' && maxRate >= MIN_SUBSCRIPTION_RATE && maxRate <= MAX_SUBSCRIPTION_RATE)
			) {
				return undefined;
			}
			const message: Of<'subscribe'> = { type: 'subscribe', sub, filter };
			if (maxRate !== undefined) message.max_rate = maxRate;
			if (id !== undefined) message.id = id;
			return message;
		}
		case 'connection.heartbeat': {
			const timestamp = json.timestamp;
			if (timestamp !== undefined && !isString(timestamp, 0, 64)) return undefined;
			const message: Of<'connection.heartbeat'> = { type: 'connection.heartbeat' };
			if (timestamp !== undefined) message.timestamp = timestamp;
			if (id !== undefined) message.id = id;
			return message;
		}
		case 'unsubscribe': {
			const sub = json.sub;
			if (sub !== undefined && !isString(sub, 1, 64)) return undefined;
			const message: Of<'unsubscribe'> = { type: 'unsubscribe' };
			if (sub !== undefined) message.sub = sub;
			if (id !== undefined) message.id = id;
			return message;
		}
		case 'resume': {
			const { epoch, seq } = json;
			if (!isString(epoch, 1, 128) || !(Number.isSafeInteger(seq) && (seq as number) >= 0)) return undefined;
			const message: Of<'resume'> = { type: 'resume', epoch, seq: seq as number };
			if (id !== undefined) message.id = id;
			return message;
		}
		default:
			return undefined;
	}
}

function wellFormedFilter(value: unknown): EventFilter | undefined {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
	const input = value as Json;
	// the filter schema is strict: an unknown key is an error the schema names
	for (const key in input) if (!FILTER_KEYS.has(key)) return undefined;
	const filter: EventFilter = {};
	if (input.task_ids !== undefined) {
		const ids = idList(input.task_ids);
		if (!ids) return undefined;
		filter.task_ids = ids;
	}
	if (input.run_ids !== undefined) {
		const ids = idList(input.run_ids);
		if (!ids) return undefined;
		filter.run_ids = ids;
	}
	if (input.types !== undefined) {
		const types = listOf(input.types, MAX_TYPES, (t) => EVENT_TYPE_SET.has(t));
		if (!types) return undefined;
		filter.types = types;
	}
	if (input.statuses !== undefined) {
		const statuses = listOf(input.statuses, STATUS_SET.size, (s) => STATUS_SET.has(s));
		if (!statuses) return undefined;
		filter.statuses = statuses as EventFilter['statuses'];
	}
	return filter;
}

function idList(value: unknown): string[] | undefined {
	return listOf(value, MAX_FILTER_IDS, (id) => id.length >= 1 && id.length <= 128);
}

/** A copy of `value` if it is an array of at most `max` strings that all pass `ok`. */
function listOf(value: unknown, max: number, ok: (s: string) => boolean): string[] | undefined {
	if (!Array.isArray(value) || value.length > max) return undefined;
	const out = new Array<string>(value.length);
	for (let i = 0; i < value.length; i++) {
		const item: unknown = value[i];
		if (typeof item !== 'string' || !ok(item)) return undefined;
		out[i] = item;
	}
	return out;
}

function isString(value: unknown, min: number, max: number): value is string {
	return typeof value === 'string' && value.length >= min && value.length <= max;
}
