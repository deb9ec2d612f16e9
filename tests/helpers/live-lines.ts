/**
 * @module tests/helpers/live-lines
 * The lines a client received live, out of the `tool.lines` events among its messages: each
 * event carries one or more lines that arrived together, so a test that checks lines (their
 * numbers, text, order, that none is missing or repeated) flattens them first.
 *
 * @example
 * const numbers = liveLines(client.messages)
 *   .filter((l) => l.execution_id === execution.id)
 *   .map((l) => l.line);
 * expect(numbers).toEqual([1, 2, 3]);
 */
import type { EventDataMap, ExecutionRef, OutputLine } from '../../src/lib/protocol';

/** One line of a `tool.lines` event, with the execution it belongs to. */
export type LiveLine = ExecutionRef & OutputLine;

/** A `tool.lines` event as a client receives it (an envelope) or the bus carries it (a domain event). */
export interface ToolLinesEvent {
	type: 'tool.lines';
	data: EventDataMap['tool.lines'];
}

/** Whether a message (an event envelope, a domain event, any server frame) is a `tool.lines` event. */
export function isToolLines<M extends { type: string }>(message: M): message is M & ToolLinesEvent {
	return message.type === 'tool.lines';
}

/** Every line of the `tool.lines` events among `messages`, in the order received. */
export function liveLines(messages: Iterable<{ type: string }>): LiveLine[] {
	const out: LiveLine[] = [];
	for (const message of messages) {
		if (!isToolLines(message)) continue;
		const { lines, ...ref } = message.data;
		for (const line of lines) out.push({ ...ref, ...line });
	}
	return out;
}

/** Whether `message` is a `tool.lines` event carrying line `n` (of any execution). */
export function carriesLine<M extends { type: string }>(
	message: M,
	n: number
): message is M & ToolLinesEvent {
	return isToolLines(message) && message.data.lines.some((l) => l.line === n);
}
