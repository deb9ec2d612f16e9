/**
 * @module ingest/producer
 * The producer role on the hub's WebSocket: `producer.hello` (with the token when the server
 * has one), then `ingest.create_task` and `ingest.events`, each answered with `ingest.ack` or
 * `error` carrying the message's `id` as `ref`. The hub's router hands every frame here first
 * ({@link handleProducerFrame}); frames of other types go on to the subscriber protocol.
 */
import {
	PRODUCER_MESSAGE_TYPES,
	issuePath,
	producerMessageSchema,
	type ControlDataMap,
	type ControlType,
	type IngestAckData
} from '../../protocol';
import type { Logger } from '../logger';
import { isStoreUnavailable } from '../store/errors';
import { tokenMatches } from './auth';
import { isIngestError } from './ingest-error';
import type { IngestService } from './service';

/** What the producer role needs of a hub session (kept narrow: the hub may change). */
export interface ProducerPeer {
	readonly id: string;
	send(data: string): boolean;
}

export interface ProducerDeps {
	ingest: IngestService;
	/** the bearer token producers must present in `producer.hello`; null: none needed */
	token: string | null;
	logger: Logger;
}

/** Handles a frame if it is a producer message (true); false leaves it to the subscriber protocol. */
export type ProducerFrameHandler = (peer: ProducerPeer, text: string) => boolean;

const TYPE = /"type"\s*:\s*"(producer\.hello|ingest\.create_task|ingest\.events)"/;

/**
 * The producer role of one node. The handler never throws; the answer is sent when the message
 * has been applied.
 */
export function createProducerHandler(deps: ProducerDeps): ProducerFrameHandler {
	/** sessions that presented the server's token */
	const authenticated = new WeakSet<ProducerPeer>();
	return (peer, text) => {
		// a cheap look first: subscribers' heartbeats must not pay for a second JSON parse
		if (!TYPE.test(text)) return false;
		let json: unknown;
		try {
			json = JSON.parse(text);
		} catch {
			return false;
		}
		const type = (json as { type?: unknown } | null)?.type;
		if (!(PRODUCER_MESSAGE_TYPES as readonly unknown[]).includes(type)) return false;
		void handle(deps, authenticated, peer, json).catch(() => {});
		return true;
	};
}

async function handle(
	deps: ProducerDeps,
	authenticated: WeakSet<ProducerPeer>,
	peer: ProducerPeer,
	json: unknown
): Promise<void> {
	const ref = typeof (json as { id?: unknown }).id === 'string' ? (json as { id: string }).id : undefined;
	const refField = ref === undefined ? {} : { ref };
	const parsed = producerMessageSchema.safeParse(json);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		const type = (json as { type: string }).type;
		return fail(
			peer,
			'invalid_message',
			`Invalid "${type}" message: ${issuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}.`,
			ref
		);
	}
	const message = parsed.data;
	const { token } = deps;
	if (message.type === 'producer.hello') {
		if (token !== null && !tokenMatches(message.token, token)) {
			return fail(
				peer,
				'unauthorized',
				message.token
					? 'The token in "producer.hello" is not the one this server was started with (its ACO_TOKEN).'
					: 'This server requires a token: send it as "token" in "producer.hello".',
				ref
			);
		}
		authenticated.add(peer);
		return ack(peer, { kind: 'producer.hello', authenticated: token !== null, ...refField });
	}
	if (token !== null && !authenticated.has(peer)) {
		return fail(
			peer,
			'unauthorized',
			'Send "producer.hello" with the server\'s token before ingesting.',
			ref
		);
	}
	const service = deps.ingest;
	try {
		if (message.type === 'ingest.create_task') {
			const result = await service.createTask(message.task);
			return ack(peer, { kind: 'ingest.create_task', ...result, ...refField });
		}
		const result = await service.applyEvents(message.task_id, message.events);
		return ack(peer, { kind: 'ingest.events', ...result, ...refField });
	} catch (err) {
		if (isIngestError(err)) return fail(peer, err.code, err.message, ref, err.status >= 500);
		if (isStoreUnavailable(err)) return fail(peer, err.code, err.message, ref, true);
		deps.logger.error({ err, client_id: peer.id, type: message.type }, 'producer message failed');
		return fail(peer, 'internal', 'The server hit an unexpected error applying the message.', ref, true);
	}
}

function ack(peer: ProducerPeer, data: IngestAckData): void {
	send(peer, 'ingest.ack', data);
}

function fail(peer: ProducerPeer, code: string, message: string, ref?: string, retryable = false): void {
	send(peer, 'error', { code, message, retryable, ...(ref === undefined ? {} : { ref }) });
}

function send<T extends ControlType>(peer: ProducerPeer, type: T, data: ControlDataMap[T]): void {
	peer.send(JSON.stringify({ type, timestamp: new Date().toISOString(), data }));
}
