/**
 * @module realtime/session-timers
 * The timers of one socket session: the deadline for the server's welcome, the client
 * heartbeat, and the moment the connection has stayed up long enough to count as good.
 * `clear()` ends them all when the socket goes.
 */

export interface SessionStart {
	/** the interval the welcome asked for */
	heartbeatMs: number;
	/** sends one heartbeat */
	beat: () => void;
	stableAfterMs: number;
	/** called once, when the session stayed up for `stableAfterMs` */
	onStable: () => void;
}

export class SessionTimers {
	#welcomeTimer: ReturnType<typeof setTimeout> | null = null;
	#stableTimer: ReturnType<typeof setTimeout> | null = null;
	#heartbeatTimer: ReturnType<typeof setInterval> | null = null;

	/** The socket is open: calls `onTimeout` unless {@link welcomed} follows within `timeoutMs`. */
	awaitWelcome(timeoutMs: number, onTimeout: () => void): void {
		this.#clearWelcome();
		this.#welcomeTimer = setTimeout(() => {
			this.#welcomeTimer = null;
			onTimeout();
		}, timeoutMs);
	}

	/** The welcome arrived: stop waiting for it, beat at its interval, and watch for stability. */
	welcomed({ heartbeatMs, beat, stableAfterMs, onStable }: SessionStart): void {
		this.clear();
		this.#heartbeatTimer = setInterval(beat, heartbeatMs);
		this.#stableTimer = setTimeout(() => {
			this.#stableTimer = null;
			onStable();
		}, stableAfterMs);
	}

	clear(): void {
		this.#clearWelcome();
		if (this.#stableTimer) clearTimeout(this.#stableTimer);
		if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
		this.#stableTimer = this.#heartbeatTimer = null;
	}

	#clearWelcome(): void {
		if (this.#welcomeTimer) clearTimeout(this.#welcomeTimer);
		this.#welcomeTimer = null;
	}
}
