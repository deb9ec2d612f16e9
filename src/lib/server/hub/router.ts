/**
 * @module hub/router
 * Handles each frame a client sends, and the subscriptions its upgrade URL names: validates
 * them against the protocol and answers them.
 * A bad frame (binary, not JSON, unknown type, wrong fields) is answered with an `error`
 * reply and never throws, so the connection stays usable.
 */
import type { RawData } from 'ws';
import { connectSubscriptions } from '../../protocol/connect-subscriptions';
import {
	parseClientMessage,
	type ParseResult,
	type ClientMessage,
	type ControlDataMap,
	type ControlType
} from '../../protocol/messages';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import { encodeControl } from './frames';
import { HubError } from './hub-error';
import type { Replayer, ResumeOutcome } from './resume';
import type { Session } from './session';
import type { StreamPosition } from './stream';
import type { FrameInterceptor } from './types';

export interface RouterOptions {
	position: () => StreamPosition;
	replayer: Replayer;
	counters: HubCounters;
	logger: Logger;
	/** sees every text frame first and takes it by returning true (the producer role does) */
	intercept?: FrameInterceptor;
	now?: () => Date;
}

export class Router {
	#options: RouterOptions;
	#now: () => Date;

	constructor(options: RouterOptions) {
		this.#options = options;
		this.#now = options.now ?? (() => new Date());
	}

	/**
	 * Entry point for a session's inbound frames. Never throws: it runs in the socket's message
	 * listener, where an exception would take the process down, so whatever a frame makes fail
	 * is answered with `error` (internal) and logged.
	 */
	handleFrame(session: Session, data: RawData, isBinary: boolean): void {
		try {
			if (isBinary) {
				this.#fail(session, HubError.binaryFrame());
				return;
			}
			const text = toText(data);
			// producers (aco exec, scripts) share the socket; their messages live in ingest/producer
			if (this.#options.intercept?.(session, text)) return;
			this.#handle(session, parseClientMessage(text));
		} catch (err) {
			this.#options.logger.error({ err, client_id: session.id }, 'frame handling failed');
			this.#fail(session, HubError.internal(err));
		}
	}

	/**
	 * Takes the subscriptions the upgrade request's URL names (connect-subscriptions), right
	 * after the welcome: each is answered as the `subscribe` message would be. Never throws.
	 */
	handleConnect(session: Session, requestUrl: string | undefined): void {
		for (const parsed of connectSubscriptions(requestUrl)) this.#handle(session, parsed);
	}

	#handle(session: Session, parsed: ParseResult): void {
		if (!parsed.ok) {
			this.#fail(session, HubError.fromErrorData(parsed.error), parsed.error.ref);
			return;
		}
		try {
			this.#dispatch(session, parsed.message);
		} catch (err) {
			const ref = parsed.message.id;
			if (err instanceof HubError) {
				this.#fail(session, err, ref);
				return;
			}
			this.#options.logger.error(
				{ err, client_id: session.id, type: parsed.message.type },
				'message handler failed'
			);
			this.#fail(session, HubError.internal(err), ref);
		}
	}

	#dispatch(session: Session, message: ClientMessage): void {
		const ref = message.id;
		// subscriptions come first after a reconnect; anything else means the client is set up
		if (message.type !== 'subscribe' && message.type !== 'unsubscribe' && message.type !== 'resume') {
			session.endResumeWindow();
		}
		switch (message.type) {
			case 'connection.heartbeat':
				this.#reply(session, 'connection.heartbeat', {
					server_time: this.#now().toISOString(),
					...refOf(ref)
				});
				return;
			case 'subscribe':
				session.subscribe(message.sub, message.filter, { maxRate: message.max_rate });
				this.#reply(session, 'subscribed', {
					id: message.sub,
					filter: message.filter,
					...(message.max_rate ? { max_rate: message.max_rate } : {}),
					...refOf(ref)
				});
				return;
			case 'unsubscribe':
				session.unsubscribe(message.sub);
				this.#reply(session, 'unsubscribed', { id: message.sub ?? null, ...refOf(ref) });
				return;
			case 'resume':
				this.#options.replayer.resume(session, { epoch: message.epoch, seq: message.seq }, (outcome) =>
					this.#resumeReply(outcome, ref)
				);
				session.endResumeWindow();
				return;
			default: {
				// parseClientMessage only returns the types above; a new one must be routed here.
				const unhandled: never = message;
				throw new Error(`unrouted client message ${JSON.stringify(unhandled)}`);
			}
		}
	}

	/** The reply to a resume, built when its outcome is known (a replay ends after its events). */
	#resumeReply(outcome: ResumeOutcome, ref: string | undefined): string {
		const { counters } = this.#options;
		if (outcome.kind === 'resumed') {
			counters.resumes += 1;
			counters.eventsReplayed += outcome.replayed;
			return encodeControl('resumed', { replayed: outcome.replayed, ...refOf(ref) }, this.#now());
		}
		counters.resets += 1;
		const { epoch, seq } = this.#options.position();
		return encodeControl(
			'reset',
			{ missed: outcome.missed, epoch, seq, reason: outcome.reason, ...refOf(ref) },
			this.#now()
		);
	}

	#reply<T extends ControlType>(session: Session, type: T, data: ControlDataMap[T]): void {
		session.send(encodeControl(type, data, this.#now()));
	}

	#fail(session: Session, error: HubError, ref?: string): void {
		this.#options.counters.errors += 1;
		this.#options.logger.debug({ client_id: session.id, code: error.code }, error.message);
		this.#reply(session, 'error', error.toErrorData(ref));
	}
}

function refOf(ref: string | undefined): { ref?: string } {
	return ref === undefined ? {} : { ref };
}

function toText(data: RawData): string {
	if (Buffer.isBuffer(data)) return data.toString('utf8');
	if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
	return Buffer.from(data).toString('utf8');
}
