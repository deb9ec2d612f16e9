/**
 * @module ingest/producer
 * The producer role on the hub's WebSocket: `producer.hello`, then `ingest.create_task` and
 * `ingest.events`, each answered with `ingest.ack` or `error` carrying the message's `id` as
 * `ref`. The hub's router hands every frame here first; frames of other types go on to the
 * subscriber protocol.
 *
 * Ingesting needs the operator role: the connection's own credentials (the upgrade's bearer
 * token) or a token in `producer.hello`. A refused hello is answered with `error` and the
 * connection is closed (4500 for a wrong token, 4504 for a viewer's): a producer that cannot
 * ingest has nothing more to say, and a guesser gets one try per connection.
 *
 * A connection has at most {@link MAX_PRODUCER_IN_FLIGHT} messages waiting for their answer; one
 * more is answered with a retryable `too_many_in_flight` error and not applied, so a producer
 * that sends without waiting for answers cannot queue without bound while the store is slow.
 */
import {
	PRODUCER_MESSAGE_TYPES,
	issuePath,
	producerMessageSchema,
	type ControlDataMap,
	type ControlType,
	type IngestAckData
} from '../../protocol';
import type { Principal } from '../auth/principal';
import type { Logger } from '../logger';
import { isStoreDataError, isStoreUnavailable } from '../store/errors';
import { isIngestError } from './ingest-error';
import type { IngestService } from './service';

/** What the producer role needs of a hub session (kept narrow: the hub may change). */
export interface ProducerPeer {
	readonly id: string;
	readonly principal: Principal;
	/** the client's address (wrong tokens are counted per address) */
	readonly remoteAddress?: string;
	send(data: string): boolean;
	close(code: number, reason?: string): void;
}

export type ProducerVerdict =
	/** `authenticated`: credentials were checked (false when the server needs none) */
	| { ok: true; authenticated: boolean }
	| {
			ok: false;
			code: 'unauthorized' | 'forbidden' | 'too_many_attempts';
			message: string;
			closeCode: number;
	  };

/** Whether a client may ingest, by its connection's principal or the token its hello carries. */
export type ProducerAuthorizer = (
	principal: Principal,
	helloToken: string | undefined,
	address?: string
) => ProducerVerdict;

export interface ProducerDeps {
	ingest: IngestService;
	authorize: ProducerAuthorizer;
	logger: Logger;
}

/** Handles a frame if it is a producer message (true); false leaves it to the subscriber protocol. */
export type ProducerFrameHandler = (peer: ProducerPeer, text: string) => boolean;

const TYPE = /"type"\s*:\s*"(producer\.hello|ingest\.create_task|ingest\.events)"/;

/** why a producer's connection is closed, by the refusal's code */
const CLOSE_REASONS = {
	forbidden: 'operator role needed',
	unauthorized: 'invalid token',
	too_many_attempts: 'too many wrong tokens'
} as const;

/** messages of one connection being applied at once, at most */
export const MAX_PRODUCER_IN_FLIGHT = 32;

/**
 * The producer role of one node. The handler never throws; the answer is sent when the message
 * has been applied.
 */
export function createProducerHandler(deps: ProducerDeps): ProducerFrameHandler {
	/** sessions that presented the server's token */
	const authenticated = new WeakSet<ProducerPeer>();
	/** messages of each session not yet answered */
	const inFlight = new WeakMap<ProducerPeer, number>();
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
		const waiting = inFlight.get(peer) ?? 0;
		if (waiting >= MAX_PRODUCER_IN_FLIGHT) {
			const ref = (json as { id?: unknown }).id;
			fail(
				peer,
				'too_many_in_flight',
				`${MAX_PRODUCER_IN_FLIGHT} messages are still being applied: wait for their answers before sending more, then send this one again.`,
				typeof ref === 'string' ? ref : undefined,
				true
			);
			return true;
		}
		inFlight.set(peer, waiting + 1);
		void handle(deps, authenticated, peer, json)
			.catch(() => {})
			.finally(() => inFlight.set(peer, (inFlight.get(peer) ?? 1) - 1));
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
	if (message.type === 'producer.hello') {
		const verdict = deps.authorize(peer.principal, message.token, peer.remoteAddress);
		if (!verdict.ok) {
			// a wrong token is logged where it is counted (auth), not once per guess
			if (verdict.code === 'forbidden') deps.logger.warn({ client_id: peer.id }, 'producer refused, closing');
			fail(peer, verdict.code, verdict.message, ref);
			peer.close(verdict.closeCode, CLOSE_REASONS[verdict.code]);
			return;
		}
		authenticated.add(peer);
		return ack(peer, { kind: 'producer.hello', authenticated: verdict.authenticated, ...refField });
	}
	// a connection made with an operator's credentials (or to a server that needs none) may ingest at once
	if (!authenticated.has(peer) && !deps.authorize(peer.principal, undefined).ok) {
		return fail(
			peer,
			'unauthorized',
			'Ingesting needs the operator role: send "producer.hello" with an operator token first.',
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
		if (isStoreDataError(err)) {
			// the same message would be refused again: said once, not resent for ever
			deps.logger.warn({ err, client_id: peer.id, type: message.type }, 'the database refused a value');
			return fail(peer, err.code, err.message, ref);
		}
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
