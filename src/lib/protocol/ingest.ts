/**
 * @module protocol/ingest
 * What producers that are not aco workflows (CI jobs, agents, scripts, `aco exec`) send to
 * create a stand-alone task and report on it, over REST or as a producer on the WebSocket.
 * The same zod schemas validate both; every reply names the field that was wrong.
 *
 * | method & path                      | body                     | response                         |
 * | ---------------------------------- | ------------------------ | -------------------------------- |
 * | POST /api/v1/tasks                 | CreateTaskRequest        | 201 IngestTaskResponse (200 when the Idempotency-Key was seen) |
 * | POST /api/v1/tasks/{id}/events     | { events: IngestEvent[] } | 200 IngestEventsResponse        |
 *
 * A running task whose producer sends nothing for a while (ACO_INGEST_SILENCE_MS, 5 min by
 * default) is failed as "lost contact"; a producer with nothing to report sends `heartbeat`.
 * A cancel asked for in the dashboard or the API (POST /api/v1/tasks/{id}/cancel) reaches the
 * producer as `cancel_requested: true` in its next answer: it stops its tool and reports
 * `status: cancelled` (within ACO_INGEST_CANCEL_TIMEOUT_MS, or the server cancels without it).
 *
 * Events apply in order. Tools are addressed by `step` (0-based, unique within the task), so a
 * producer needs no server id before it reports output. Output lines carry their number
 * (1-based, continuing the tool's log); a line whose number is already stored is counted as a
 * duplicate and not stored or streamed again, so a producer may resend a batch whose answer it
 * never got. Lines without `n` are numbered by the server (and are not idempotent).
 */
import { z } from 'zod';
import type { Task } from './models';
import { TOOL_LIMITS } from './limits';

/** Lines one `output` event may carry; bigger batches are split by the producer. */
export const MAX_INGEST_LINES = 5_000;
/** Events one request or producer message may carry. */
export const MAX_INGEST_EVENTS = 1_000;
/** Longest line text accepted; longer lines are split by the producer. */
export const MAX_INGEST_LINE_LENGTH = 64 * 1024;

/**
 * A name, message, key or path: PostgreSQL text cannot hold NUL, so one is refused on every
 * store, naming the field. Output lines may hold NUL (stores encode them), see {@link ingestLineSchema}.
 */
const text = (max: number) =>
	z
		.string()
		.max(max)
		.refine((value) => !value.includes('\0'), 'contains a NUL character; remove it');
const step = z.number().int().min(0).max(10_000);

export const createTaskSchema = z
	.object({
		name: text(200).min(1),
		/** a short key (shown where workflow tasks show theirs); the name when omitted */
		key: text(200).min(1).optional(),
		message: text(2_000).nullable().optional(),
		/** start right away as `running` (default) or wait as `queued` */
		status: z.enum(['queued', 'running']).default('running'),
		progress: z.number().min(0).max(100).optional(),
		/** the same as the `Idempotency-Key` header, for producers that cannot set headers (WS) */
		idempotency_key: text(200).min(1).optional()
	})
	.strict();

export type CreateTaskRequest = z.input<typeof createTaskSchema>;

export const ingestLineSchema = z
	.object({
		n: z.number().int().min(1).optional(),
		stream: z.enum(['stdout', 'stderr']).default('stdout'),
		/**
		 * exactly as the tool printed it, NUL and all, without its line break: text holding one would
		 * be two lines under one number, and a line after the break is no line's start (an
		 * `::add-mask::` there would be read as text)
		 */
		text: z
			.string()
			.max(MAX_INGEST_LINE_LENGTH)
			.refine((value) => !value.includes('\n'), 'contains a line break; send each line as a line of its own'),
		/** when the line was written (ISO-8601); the server's clock when omitted */
		ts: z.iso.datetime({ offset: true }).optional(),
		/**
		 * no newline followed the text (a `\r` progress snapshot, a piece of an overlong line): the
		 * next line continues it (LogLine.partial)
		 */
		partial: z.boolean().optional()
	})
	.strict();

export const ingestEventSchema = z.discriminatedUnion('type', [
	z
		.object({
			type: z.literal('status'),
			status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
			message: text(2_000).nullable().optional(),
			error: text(2_000).nullable().optional()
		})
		.strict(),
	z
		.object({
			type: z.literal('progress'),
			progress: z.number().min(0).max(100).optional(),
			message: text(2_000).nullable().optional()
		})
		.strict()
		.refine((e) => e.progress !== undefined || e.message !== undefined, {
			message: 'give "progress", "message" or both',
			path: ['progress']
		}),
	z
		.object({
			type: z.literal('tool.start'),
			step,
			name: text(TOOL_LIMITS.name).min(1),
			command: text(TOOL_LIMITS.text).default(''),
			args: z.array(text(TOOL_LIMITS.text)).max(TOOL_LIMITS.args).default([]),
			cwd: text(TOOL_LIMITS.text).nullable().default(null)
		})
		.strict(),
	z
		.object({
			type: z.literal('output'),
			step,
			lines: z.array(ingestLineSchema).min(1).max(MAX_INGEST_LINES)
		})
		.strict(),
	z
		.object({
			type: z.literal('tool.end'),
			step,
			exit_code: z.number().int().nullable().default(null),
			signal: text(32).nullable().default(null),
			/** `succeeded` for exit code 0 without a signal, `failed` otherwise, unless given */
			status: z.enum(['succeeded', 'failed', 'cancelled']).optional(),
			error: text(2_000).nullable().optional()
		})
		.strict(),
	/** nothing to report, still running: keeps the task from being failed as "lost contact" */
	z.object({ type: z.literal('heartbeat') }).strict()
]);

export type IngestEvent = z.output<typeof ingestEventSchema>;
export type IngestEventInput = z.input<typeof ingestEventSchema>;

export const ingestEventsSchema = z
	.object({ events: z.array(ingestEventSchema).min(1).max(MAX_INGEST_EVENTS) })
	.strict();

export interface IngestTaskResponse {
	task: Task;
	/** true when an earlier request with the same idempotency key created the task */
	existing: boolean;
}

export interface IngestEventsResponse {
	task: Task;
	/** events that changed something */
	applied: number;
	/** output lines skipped because their numbers were already stored */
	duplicates: number;
	/** events that changed nothing (a status the task already had, a tool started twice, …) */
	ignored: number;
	/** the number of the last stored line of each step's log, for producers that resume */
	line_counts: Record<string, number>;
	/** a cancel was asked for: stop the tool and report `status: cancelled` */
	cancel_requested: boolean;
}

// ---------- producer role on the WebSocket ----------

/**
 * Client → server messages of a producer. `producer.hello` (with the token when the server has
 * one) comes first; each other message is answered with `ingest.ack` or `error`, both carrying
 * the message's `id` as `ref`.
 */
export const producerMessageSchema = z.discriminatedUnion('type', [
	z
		.object({ type: z.literal('producer.hello'), id: text(128).optional(), token: text(4_096).optional() })
		.strict(),
	z
		.object({ type: z.literal('ingest.create_task'), id: text(128).optional(), task: createTaskSchema })
		.strict(),
	z
		.object({
			type: z.literal('ingest.events'),
			id: text(128).optional(),
			task_id: text(128).min(1),
			events: ingestEventsSchema.shape.events
		})
		.strict()
]);

export type ProducerMessage = z.input<typeof producerMessageSchema>;

export const PRODUCER_MESSAGE_TYPES = ['producer.hello', 'ingest.create_task', 'ingest.events'] as const;

export type IngestAckData =
	| { ref?: string; kind: 'producer.hello'; authenticated: boolean }
	| ({ ref?: string; kind: 'ingest.create_task' } & IngestTaskResponse)
	| ({ ref?: string; kind: 'ingest.events' } & IngestEventsResponse);

/** "events.2.lines.0.text" for a zod issue path, "(body)" for the root. */
export function issuePath(path: readonly PropertyKey[]): string {
	return path.length ? path.map(String).join('.') : '(body)';
}
