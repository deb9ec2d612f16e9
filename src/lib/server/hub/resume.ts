/**
 * @module hub/resume
 * Answers a client's `resume {epoch, seq}`. Recovery is all or nothing, as in Centrifugo:
 * either every event the client missed that matches its subscriptions is queued for it, in
 * order and ahead of newer live events (`resumed {replayed}`), or the client is told to reload
 * a snapshot over REST (`reset {missed}`): another epoch (the server restarted), a seq older
 * than history reaches, or a seq this stream never had.
 */
import type { StreamPosition } from './broadcast';
import type { History } from './history';
import type { Session } from './session';

export type ResumeOutcome =
	{ kind: 'resumed'; replayed: number } | { kind: 'reset'; missed: number | null; reason: string };

export interface Replayer {
	/** replays what `session` missed after `from` (queueing the events itself) or says it cannot */
	resume(session: Session, from: StreamPosition): ResumeOutcome;
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
export function createHistoryReplayer(history: History, position: () => StreamPosition): Replayer {
	return {
		resume(session, from) {
			const current = position();
			if (from.epoch !== current.epoch) {
				return { kind: 'reset', missed: current.seq, reason: OTHER_EPOCH_REASON };
			}
			if (from.seq > current.seq) return { kind: 'reset', missed: null, reason: FUTURE_SEQ_REASON };
			const entries = history.since(from.seq);
			if (!entries) return { kind: 'reset', missed: current.seq - from.seq, reason: TOO_OLD_REASON };
			const replayed = session.replay(entries);
			if (replayed === null)
				return { kind: 'reset', missed: current.seq - from.seq, reason: OVERTAKEN_REASON };
			return { kind: 'resumed', replayed };
		}
	};
}
