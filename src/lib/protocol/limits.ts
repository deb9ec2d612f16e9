/**
 * @module protocol/limits
 * Defaults both sides rely on. The server may be configured otherwise and says so in `welcome`.
 */

/** How often a client sends `connection.heartbeat`. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** A client silent this long is closed with 4000. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/** Largest inbound frame the hub accepts; a larger one closes with 1009. */
export const DEFAULT_MAX_INBOUND_BYTES = 64 * 1024;
/** Connections one server accepts; the upgrade is refused with 503 beyond it. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** Lines one `tool.lines` event carries at most. */
export const MAX_LINES_PER_EVENT = 1_000;
/** Characters of text one `tool.lines` event carries at most (a longer line goes alone). */
export const MAX_EVENT_TEXT = 256 * 1024;

/**
 * Whether a line of `chars` characters must start a new `tool.lines` event after one holding
 * `count` lines of `held` characters: the caps above, and a line past MAX_EVENT_TEXT alone.
 */
export function startsNewEvent(count: number, held: number, chars: number): boolean {
	return count > 0 && (count >= MAX_LINES_PER_EVENT || held + chars > MAX_EVENT_TEXT);
}
/** Subscriptions one client may hold at once. */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 32;
/** Ids one filter may list (task ids, run ids). */
export const MAX_FILTER_IDS = 1000;
/**
 * Entries all of one client's filters may list together (task ids, run ids, types, statuses):
 * what the hub keeps and re-reads for each change of a client's subscriptions stays small.
 */
export const MAX_CLIENT_FILTER_IDS = 2000;
/** The WebSocket path. */
export const WS_PATH = '/ws';
/**
 * Protocol version spoken over WS_PATH. 2: the hub also takes subscriptions from the upgrade
 * URL (connect-subscriptions.ts); a version 1 hub ignores them, so a client sends them again.
 * 3: a tool's output comes as `tool.lines`, the lines that arrived together in one event, in
 * place of one `tool.output` event per line.
 */
export const PROTOCOL_VERSION = 3;
/** The first protocol version whose hub sends a tool's output as `tool.lines`. */
export const TOOL_LINES_SINCE = 3;
/** Bounds of a subscription's `max_rate` (updates per second per task or run). */
export const MIN_SUBSCRIPTION_RATE = 0.1;
export const MAX_SUBSCRIPTION_RATE = 100;
/** How long an ingested tool's name, command, each argument and cwd may be, and how many arguments it may have. */
export const TOOL_LIMITS = { name: 200, text: 4_000, args: 1_000 } as const;
