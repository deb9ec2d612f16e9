/**
 * @module bus/redis/scripts
 * The Lua scripts that keep the shared stream consistent. Each runs atomically in Redis, so the
 * global seq, the epoch and the stream never disagree, whichever node calls them.
 *
 * Layout, after Centrifugo's Redis engine (one meta hash with epoch and top offset, history in a
 * stream whose ids are the offsets):
 * - `<prefix>meta` hash: `e` the epoch, `s` the newest seq, `since` the seq of the epoch's marker.
 * - `<prefix>stream`: one entry per published batch, id `<first seq>-0`, fields `e` (epoch),
 *   `t` (Redis time, ms), `n` (how many seqs it holds), `p` (the publisher) and `d` (the events' JSON, one per line:
 *   JSON has no raw newline) — or `m` instead of `d` for the marker that opens an epoch. One
 *   entry per batch rather than per event keeps Redis's work per event near zero.
 * - `<prefix>ack:<publisher>`: the last batch a publisher got in, so it can tell after a lost
 *   reply whether that batch was applied (no duplicate, no loss).
 *
 * An epoch begins with a marker entry. The epoch changes when Redis lost its data (the meta
 * hash is gone: a new epoch and a new stream), or when a node could not publish some events
 * (`bump`): readers see an entry of another epoch and tell their clients to reset.
 */
import type { Redis } from 'ioredis';

/** The most events one publish call carries (a stream entry holds at most this many seqs). */
export const MAX_EVENTS_PER_ENTRY = 500;

/**
 * A shebang makes Redis 7 refuse a writing script up front when it is out of memory, instead of
 * failing halfway with some entries written.
 */
const WRITES = '#!lua';

/** Redis's clock in ms, so nodes with skewed clocks agree on ages. */
const NOW_MS = `local function now_ms() local t = redis.call('TIME'); return t[1] * 1000 + math.floor(t[2] / 1000) end`;

/** Opens an epoch whose marker takes the next seq (fresh stream when the meta was lost). */
const OPEN_EPOCH = `
local function open_epoch(meta, stream, epoch, floor)
  local s = tonumber(redis.call('HGET', meta, 's') or '0')
  if s == 0 then redis.call('DEL', stream) end
  if floor > s then s = floor end
  s = s + 1
  redis.call('HSET', meta, 'e', epoch, 's', s, 'since', s)
  redis.call('XADD', stream, s .. '-0', 'e', epoch, 't', now_ms(), 'n', 1, 'm', 'epoch')
  return s
end`;

/**
 * KEYS: meta, stream, ack. ARGV: candidate epoch, events to keep, batch id, ack ttl (s), the
 * publisher's known epoch and seq, the number of events, their JSON lines, the publisher's id.
 * Numbers the events with consecutive seqs in one entry; returns `{epoch, first, last}`, or
 * `{epoch, 0, seq}` without appending when Redis's seq is behind what the publisher's node
 * already delivered in that epoch (older data was restored: those seqs must not be reused).
 * Trimming keeps at least the last `events to keep` events (whole entries, `MINID ~`).
 */
export const PUBLISH_LUA = `${WRITES}
${NOW_MS}
${OPEN_EPOCH}
local meta, stream, ack = KEYS[1], KEYS[2], KEYS[3]
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[1]
  open_epoch(meta, stream, epoch, 0)
elseif epoch == ARGV[5] then
  local s = tonumber(redis.call('HGET', meta, 's'))
  if s < tonumber(ARGV[6]) then return {epoch, 0, s} end
end
local n = tonumber(ARGV[7])
local last = redis.call('HINCRBY', meta, 's', n)
local first = last - n + 1
redis.call('XADD', stream, first .. '-0', 'e', epoch, 't', now_ms(), 'n', n, 'p', ARGV[9], 'd', ARGV[8])
local keep_from = last - tonumber(ARGV[2]) - ${MAX_EVENTS_PER_ENTRY} + 1
if keep_from > 1 then redis.call('XTRIM', stream, 'MINID', '~', keep_from .. '-0') end
redis.call('SET', ack, ARGV[3] .. ' ' .. first .. ' ' .. last, 'EX', ARGV[4])
return {epoch, first, last}`;

/**
 * KEYS: meta, stream. ARGV: candidate epoch, the seq whose entry to return (0: the newest seq).
 * The stream's state `{epoch, seq, since, entry}`, opening a new epoch if Redis has none (lost
 * data). `entry` is the stream entry at or before that seq (`[id, fields]`, false when none is
 * kept): the one a reader delivered it from, unless older data came back and it was numbered again.
 */
export const ATTACH_LUA = `${WRITES}
${NOW_MS}
${OPEN_EPOCH}
local meta, stream = KEYS[1], KEYS[2]
local function entry_at(seq)
  return redis.call('XREVRANGE', stream, seq .. '-0', '-', 'COUNT', 1)[1] or false
end
local m = redis.call('HMGET', meta, 'e', 's', 'since')
if not m[1] then
  local s = open_epoch(meta, stream, ARGV[1], 0)
  return {ARGV[1], s, s, entry_at(s)}
end
local at = tonumber(ARGV[2])
if at == 0 then at = tonumber(m[2]) end
return {m[1], tonumber(m[2]), tonumber(m[3]), entry_at(at)}`;

/**
 * KEYS: meta, stream. ARGV: the epoch to end (`*`: whichever is current), the new epoch, a floor
 * for the seq.
 * Ends `expected` with a marker of a new epoch (seq above `floor`, so readers that are further
 * along still see it). If the epoch already moved on, changes nothing. Returns `{epoch, seq, since}`.
 */
export const BUMP_LUA = `${WRITES}
${NOW_MS}
${OPEN_EPOCH}
local meta, stream = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'e', 's', 'since')
if m[1] and ARGV[1] ~= '*' and m[1] ~= ARGV[1] then return {m[1], tonumber(m[2]), tonumber(m[3])} end
local s = open_epoch(meta, stream, ARGV[2], tonumber(ARGV[3]))
return {ARGV[2], s, s}`;

/**
 * KEYS: stream. ARGV: max age (ms, 0 = none), max bytes (0 = none).
 * Drops the oldest entries older than the age bound (binary search on `t`: seqs and times both
 * rise) and, when Redis counts the stream above the byte bound, the oldest share beyond it.
 * Returns the number of entries removed.
 */
export const TRIM_LUA = `#!lua flags=allow-oom
${NOW_MS}
local stream = KEYS[1]
local max_age, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local function seq_of(id) return tonumber(string.match(id, '^(%d+)')) end
local function field(entry, name)
  for i = 1, #entry[2], 2 do if entry[2][i] == name then return entry[2][i + 1] end end
end
local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
if #oldest == 0 then return 0 end
local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
local lo = seq_of(oldest[1][1])
local hi = seq_of(newest[1][1]) + tonumber(field(newest[1], 'n') or '1') - 1
local cut = lo
if max_age > 0 then
  local cutoff = now_ms() - max_age
  local a, b = lo, seq_of(newest[1][1]) + 1
  while a < b do
    local mid = math.floor((a + b) / 2)
    local e = redis.call('XRANGE', stream, mid .. '-0', '+', 'COUNT', 1)
    if tonumber(field(e[1], 't') or '0') < cutoff then a = seq_of(e[1][1]) + 1 else b = mid end
  end
  if a > cut then cut = a end
end
if max_bytes > 0 then
  local used = redis.call('MEMORY', 'USAGE', stream) or 0
  if used > max_bytes then
    local drop = math.ceil((hi - lo + 1) * (used - max_bytes) / used)
    if lo + drop > cut then cut = lo + drop end
  end
end
if cut <= lo then return 0 end
return redis.call('XTRIM', stream, 'MINID', cut .. '-0')`;

/** `[epoch, seq, since]` as the scripts return them. */
export type StreamState = [epoch: string, seq: number, since: number];

/** What ATTACH_LUA returns: the state and the entry at or before the seq asked about. */
export type AttachState = [...StreamState, entry: [string, string[]] | null];

export interface ScriptCommands {
	acoPublish(
		meta: string,
		stream: string,
		ack: string,
		...args: (string | number)[]
	): Promise<[string, number, number]>;
	acoAttach(meta: string, stream: string, candidate: string, at: number): Promise<AttachState>;
	acoBump(meta: string, stream: string, expected: string, next: string, floor: number): Promise<StreamState>;
	acoTrim(stream: string, maxAgeMs: number, maxBytes: number): Promise<number>;
}

export type ScriptedRedis = Redis & ScriptCommands;

/** Registers the scripts on a client (EVALSHA, loaded again by ioredis after a NOSCRIPT). */
export function defineScripts(client: Redis): ScriptedRedis {
	client.defineCommand('acoPublish', { numberOfKeys: 3, lua: PUBLISH_LUA });
	client.defineCommand('acoAttach', { numberOfKeys: 2, lua: ATTACH_LUA });
	client.defineCommand('acoBump', { numberOfKeys: 2, lua: BUMP_LUA });
	client.defineCommand('acoTrim', { numberOfKeys: 1, lua: TRIM_LUA });
	return client as ScriptedRedis;
}

export interface StreamKeys {
	meta: string;
	stream: string;
	ack(publisher: string): string;
	node(nodeId: string): string;
	nodes: string;
}

export function streamKeys(prefix: string): StreamKeys {
	return {
		meta: `${prefix}meta`,
		stream: `${prefix}stream`,
		ack: (publisher) => `${prefix}ack:${publisher}`,
		node: (nodeId) => `${prefix}node:${nodeId}`,
		nodes: `${prefix}nodes`
	};
}
