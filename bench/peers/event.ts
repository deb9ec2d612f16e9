/**
 * @module bench/peers/event
 * The one event every system under test sends: aco's `tool.lines` envelope, byte for byte the
 * same size for each (same field names, ids of the same length, the same text). A peer sends one
 * line per event, as it publishes each line as it comes; aco sends the lines that came together
 * in one event (as a tool's pipe read does), so the load generator counts lines, not events. A
 * line's text starts with the time it was made (µs on the machine's monotonic clock, which every
 * process shares), so the load generator measures latency from the line's creation to its receipt.
 */
import { nowUs } from '../lib/stats';

/** Where an event starts (one or more of them in a frame); its seq follows. */
export const EVENT_MARKER = Buffer.from('"type":"tool.lines","seq":');
/** Each occurrence inside an event is one line of it. */
export const LINE_MARKER = Buffer.from('{"line":');
export const STAMP_MARKER = Buffer.from('"output":"@');
const STAMP_DIGITS = 16;
/**
 * Bytes from one line's marker to the next one's at the least: the shortest line any system
 * sends (one of only its stamp) is longer. The load generator looks for the next marker this far
 * on, so it scans a fraction of each line; were a line ever shorter, its marker would be passed
 * over and the client would count a lost line, never a false success.
 */
export const MIN_LINE_BYTES = 80;

export const PEER_TASK_ID = 'task_peer000000000000000';

/** Task `k`'s id for a peer that spreads lines over tasks: as long as aco's ids. */
export function peerTaskId(k: number): string {
	return `task_peer${String(k).padStart(15, '0')}`;
}
export const PEER_EXECUTION_ID = 'exec_peer000000000000000';
const AT = '2026-01-01T00:00:00.000Z';

/** Text of a line: its creation stamp, then filler up to `bytes` characters. */
export function lineText(line: number, bytes: number, stampUs = nowUs()): string {
	const head = `@${String(Math.floor(stampUs)).padStart(STAMP_DIGITS, '0')} line ${line} `;
	return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

export interface PeerEnvelope {
	type: 'tool.lines';
	seq: number;
	timestamp: string;
	data: {
		task_id: string;
		run_id: null;
		execution_id: string;
		lines: { line: number; output: string; is_stderr: boolean; timestamp: string }[];
	};
}

/** The bytes of the shortest line inside an envelope, which MIN_LINE_BYTES must not exceed. */
export function shortestLineBytes(): number {
	const { lines } = peerEnvelope(1, lineText(1, 0, 0)).data;
	return Buffer.byteLength(JSON.stringify(lines[0]));
}

/** The envelope as aco's hub builds it for the same line alone (key order included). */
export function peerEnvelope(seq: number, text: string, taskId = PEER_TASK_ID): PeerEnvelope {
	return {
		type: 'tool.lines',
		seq,
		timestamp: AT,
		data: {
			task_id: taskId,
			run_id: null,
			execution_id: PEER_EXECUTION_ID,
			lines: [{ line: seq, output: text, is_stderr: false, timestamp: AT }]
		}
	};
}

/** The creation stamp in the event whose marker ends at `from`, or -1. */
export function readStamp(data: Buffer, from: number, end: number): number {
	const at = data.indexOf(STAMP_MARKER, from);
	if (at < 0 || at >= end) return -1;
	return readInt(data, at + STAMP_MARKER.length, end);
}

export function readInt(data: Buffer, from: number, end: number): number {
	let n = 0;
	for (let i = from; i < end; i++) {
		const digit = data[i]! - 48;
		if (digit < 0 || digit > 9) break;
		n = n * 10 + digit;
	}
	return n;
}
