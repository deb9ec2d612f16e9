/**
 * @module hub/resume
 * Answers a client's `resume {epoch, seq}`. Recovery is all or nothing: either every event
 * the client missed is replayed (`resumed`), or the client is told to reload a snapshot over
 * REST (`reset`). This first cut keeps no history, so it can only say "nothing was missed"
 * or "reset"; a history-backed replayer plugs in behind the same interface.
 */
import type { StreamPosition } from './broadcast';
import type { Session } from './session';

export type ResumeOutcome =
	{ kind: 'resumed'; replayed: number } | { kind: 'reset'; missed: number | null; reason: string };

export interface Replayer {
	/** replays what `session` missed after `from` (sending the events itself) or says it cannot */
	resume(session: Session, from: StreamPosition): ResumeOutcome;
}

export const NO_HISTORY_REASON = 'history not available';

/** A replayer without history: only a client that is already up to date resumes. */
export function createNoHistoryReplayer(position: () => StreamPosition): Replayer {
	return {
		resume(_session, from) {
			const current = position();
			if (from.epoch === current.epoch && from.seq === current.seq) return { kind: 'resumed', replayed: 0 };
			return { kind: 'reset', missed: null, reason: NO_HISTORY_REASON };
		}
	};
}
