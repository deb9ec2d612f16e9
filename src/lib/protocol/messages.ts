/**
 * @module protocol/messages
 * The frames that travel over the hub: server → client envelopes and control replies, and
 * client → server messages with their validation (zod). Server messages are trusted JSON;
 * client messages are parsed with {@link parseClientMessage}, which never throws.
 */
import { z } from 'zod';
import { EVENT_TYPES, type EventDataMap, type EventType } from './events';
import { TASK_STATUSES, type WorkflowRun } from './models';
import {
	MAX_FILTER_IDS,
	MAX_SUBSCRIPTION_RATE,
	MAX_SUBSCRIPTIONS_PER_CLIENT,
	MIN_SUBSCRIPTION_RATE
} from './limits';
import type { IngestAckData } from './ingest';
import { wellFormedClientMessage } from './message-fast-path';
import { SYSTEM_STATS_TYPE, type SystemStatsData } from './system';

// ---------- server → client ----------

/** One numbered event: the seed's envelope plus `seq`. */
export interface EventEnvelope<T extends EventType = EventType> {
	type: T;
	seq: number;
	timestamp: string;
	data: EventDataMap[T];
}

export type AnyEventEnvelope = { [K in EventType]: EventEnvelope<K> }[EventType];

/** the run a `workflow.*` event carries whole, or null for any other event */
export function workflowRunOf(event: AnyEventEnvelope): WorkflowRun | null {
	switch (event.type) {
		case 'workflow.progress':
		case 'workflow.completed':
		case 'workflow.failed':
			return event.data.run;
		default:
			return null;
	}
}

export interface WelcomeData {
	client_id: string;
	/** changes whenever history is lost (e.g. a restart) */
	epoch: string;
	/** the seq of the newest event sent so far (0 if none) */
	seq: number;
	protocol: number;
	heartbeat_interval_ms: number;
	idle_timeout_ms: number;
	limits: { max_message_bytes: number; max_subscriptions: number };
}

export interface ErrorData {
	code: string;
	message: string;
	retryable: boolean;
	/** the `id` of the client message this answers, if it had one */
	ref?: string;
}

export interface ControlDataMap {
	welcome: WelcomeData;
	'connection.heartbeat': { server_time: string; ref?: string };
	subscribed: { id: string; filter: EventFilter; max_rate?: number; ref?: string };
	unsubscribed: { id: string | null; ref?: string };
	/** the gap since the client's last seq was replayed */
	resumed: { replayed: number; ref?: string };
	/** the gap could not be replayed: reload a snapshot over REST */
	reset: { missed: number | null; epoch: string; seq: number; reason: string; ref?: string };
	/** events were dropped for this client under backpressure */
	dropped: { count: number; from_seq: number; to_seq: number };
	error: ErrorData;
	/** a producer's message was applied (see protocol/ingest) */
	'ingest.ack': IngestAckData;
	/** the node's figures, every couple of seconds, to subscriptions naming it (see protocol/system) */
	'system.stats': SystemStatsData;
}

export type ControlType = keyof ControlDataMap;

export interface ControlMessage<T extends ControlType = ControlType> {
	type: T;
	timestamp: string;
	data: ControlDataMap[T];
}

export type AnyControlMessage = { [K in ControlType]: ControlMessage<K> }[ControlType];

export interface BatchMessage {
	type: 'batch';
	events: AnyEventEnvelope[];
}

export type ServerMessage = AnyEventEnvelope | AnyControlMessage | BatchMessage;

export function isEventEnvelope(msg: ServerMessage): msg is AnyEventEnvelope {
	return 'seq' in msg && typeof (msg as { seq?: unknown }).seq === 'number';
}

// ---------- client → server ----------

/**
 * Types a subscription may name that are not numbered events: the hub sends them only to
 * subscriptions that list them in `types` (a filter without types does not get them).
 */
export const STREAM_TYPES = [SYSTEM_STATS_TYPE] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

const id = z.string().min(1).max(128);
const ids = z.array(id).max(MAX_FILTER_IDS);

/** Which events a subscription delivers. Empty or missing lists mean "any". */
export const eventFilterSchema = z
	.object({
		task_ids: ids.optional(),
		run_ids: ids.optional(),
		/** exact event types, or a family wildcard such as `task.*` */
		types: z
			.array(
				z
					.string()
					.refine(
						(t) =>
							(EVENT_TYPES as readonly string[]).includes(t) ||
							(STREAM_TYPES as readonly string[]).includes(t) ||
							/^(task|tool|workflow)\.\*$/.test(t),
						{
							message: 'unknown event type'
						}
					)
			)
			.max(EVENT_TYPES.length + STREAM_TYPES.length + 3)
			.optional(),
		statuses: z.array(z.enum(TASK_STATUSES)).max(TASK_STATUSES.length).optional()
	})
	.strict();

export type EventFilter = z.infer<typeof eventFilterSchema>;

const base = { id: z.string().max(128).optional() };

export const clientMessageSchema = z.discriminatedUnion('type', [
	z.object({ type: z.literal('connection.heartbeat'), timestamp: z.string().max(64).optional(), ...base }),
	z.object({
		type: z.literal('subscribe'),
		/** subscription id; a second subscribe with the same id replaces the filter */
		sub: z.string().min(1).max(64).default('default'),
		filter: eventFilterSchema.default({}),
		/**
		 * At most this many updates per second per task (or run) for the events only this kind of
		 * subscription wants: progress is coalesced on the server (the latest value wins), other
		 * events still go out at once and in order. Missing: every event as it happens.
		 */
		max_rate: z.number().min(MIN_SUBSCRIPTION_RATE).max(MAX_SUBSCRIPTION_RATE).optional(),
		...base
	}),
	z.object({ type: z.literal('unsubscribe'), sub: z.string().min(1).max(64).optional(), ...base }),
	z.object({
		type: z.literal('resume'),
		epoch: z.string().min(1).max(128),
		seq: z.number().int().nonnegative(),
		...base
	})
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: ErrorData };

export const MAX_SUBSCRIPTIONS = MAX_SUBSCRIPTIONS_PER_CLIENT;

/** Parses and validates one text frame from a client. Never throws. */
export function parseClientMessage(raw: string): ParseResult {
	let json: unknown;
	try {
		json = JSON.parse(raw);
	} catch {
		return fail('invalid_json', 'The message is not valid JSON. Send one JSON object per frame.');
	}
	return validateClientMessage(json);
}

/** Checks an already parsed client message against the protocol. Never throws. */
export function validateClientMessage(json: unknown): ParseResult {
	if (typeof json !== 'object' || json === null || Array.isArray(json)) {
		return fail('invalid_message', 'The message must be a JSON object with a "type" field.');
	}
	const plain = wellFormedClientMessage(json as Record<string, unknown>);
	if (plain) return { ok: true, message: plain };
	const result = clientMessageSchema.safeParse(json);
	if (result.success) return { ok: true, message: result.data };
	const ref = typeof (json as { id?: unknown }).id === 'string' ? (json as { id: string }).id : undefined;
	const type = (json as { type?: unknown }).type;
	const known = ['connection.heartbeat', 'subscribe', 'unsubscribe', 'resume'];
	if (typeof type !== 'string' || !known.includes(type)) {
		return fail(
			'unknown_type',
			`Unknown message type ${describeType(type)}; expected one of ${known.join(', ')}.`,
			ref
		);
	}
	const issue = result.error.issues[0];
	const path = issue?.path.length ? issue.path.join('.') : '(message)';
	return fail('invalid_message', `Invalid "${type}" message: ${path}: ${issue?.message ?? 'invalid'}.`, ref);
}

/** longest type named back in an error (a client may send a whole frame's worth) */
const MAX_TYPE_SHOWN = 64;

/**
 * A type named in an error: a string quoted (cut to {@link MAX_TYPE_SHOWN}), anything else by
 * its kind; a client's value is never serialised whole (a deeply nested array would overflow
 * the stack).
 */
function describeType(type: unknown): string {
	if (typeof type === 'string')
		return JSON.stringify(type.length > MAX_TYPE_SHOWN ? `${type.slice(0, MAX_TYPE_SHOWN)}…` : type);
	if (type === undefined) return '(none given)';
	if (type === null || typeof type === 'number' || typeof type === 'boolean') return String(type);
	return Array.isArray(type) ? '(an array)' : '(an object)';
}

function fail(code: string, message: string, ref?: string): ParseResult {
	return { ok: false, error: { code, message, retryable: false, ...(ref ? { ref } : {}) } };
}
