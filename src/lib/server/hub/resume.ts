/**
 * @module hub/resume
 * Answers a client's `resume {epoch, seq}`. Recovery is all or nothing, as in Centrifugo:
 * either every event the client missed that matches its subscriptions streams to it from
 * history, in order and ahead of newer live events, followed by `resumed {replayed}`; or the
 * client is told to reload a snapshot over REST (`reset {missed}`): another epoch (the server
 * restarted), a seq older than history reaches, or a seq this stream never had.
 * The replay is read from history as the client's socket drains (writer.ts), so its size is
 * bounded by history, not by the client's queue.
 */
import type { Session } from './session';
import type { EventSource, StreamPosition } from './stream';

/** How long a resume waits for this node to read up to a seq the client saw on another node. */
export const CATCH_UP_WAIT_MS = 2_000;

export type ResumeOutcome =
	{ kind: 'resumed'; replayed: number } | { kind: 'reset'; missed: number | null; reason: string };

/** Builds the reply frame for an outcome; the session writes it at the outcome's place in its stream. */
export type ResumeAnswer = (outcome: ResumeOutcome) => string | Buffer;

export interface Replayer {
	/** replays what `session` missed after `from`, or says it cannot, through `answer` (called once) */
	resume(session: Session, from: StreamPosition, answer: ResumeAnswer): void;
}

export const OTHER_EPOCH_REASON = 'the server restarted; its event history began anew';
export const TOO_OLD_REASON = 'the events after this seq are no longer in history';
export const FUTURE_SEQ_REASON = 'this seq is newer than any event of the stream';
export const OVERTAKEN_REASON = 'newer events already reached this connection; resume right after welcome';

/**
 * A replayer over the hub's history. `missed` in a reset counts events of the whole stream
 * (not just the client's subscriptions, which history may no longer hold): after a restart,
 * every event of the new epoch.
 */
export function createHistoryReplayer(position: () => StreamPosition, source?: EventSource): Replayer {
	return {
		resume(session, from, answer) {
			const current = position();
			if (from.epoch !== current.epoch) {
				session.send(answer({ kind: 'reset', missed: current.seq, reason: OTHER_EPOCH_REASON }));
				return;
			}
			if (from.seq > current.seq) {
				// a shared stream: the client may have seen newer events on another node than this one
				// has read; it gets the later ones live as this node reads them, once it has confirmed the seq
				const waiting = source?.caughtUp?.(from.seq, CATCH_UP_WAIT_MS);
				if (!waiting) {
					session.send(answer({ kind: 'reset', missed: null, reason: FUTURE_SEQ_REASON }));
					return;
				}
				session.skipThrough(from.seq);
				void waiting.then((reached) => {
					if (reached) this.resume(session, from, answer);
					else session.send(answer({ kind: 'reset', missed: null, reason: FUTURE_SEQ_REASON }));
				});
				return;
			}
			session.resume(from.seq, (outcome) => {
				if (outcome.kind === 'resumed') return answer(outcome);
				const missed = position().seq - from.seq;
				const reason = outcome.kind === 'gone' ? TOO_OLD_REASON : OVERTAKEN_REASON;
				return answer({ kind: 'reset', missed, reason });
			});
		}
	};
}
