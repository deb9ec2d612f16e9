/**
 * @module cli/follow/older-hub
 * A server older than protocol {@link TOOL_LINES_SINCE} streams a tool's output as `tool.output`,
 * one event per line, which this aco does not read: its lines then print only as a log is caught
 * up over REST (a step's end, a reconnect). The followers say so once on stderr, and the TUI in
 * short on its status line while connected to such a server, rather than leave the viewer
 * wondering why the output stalls.
 */
import { PROTOCOL_VERSION, TOOL_LINES_SINCE } from '../../lib/protocol/limits';
import type { RealtimeClient } from '../realtime/client';
import type { Output } from './format';

/** What a hub speaking `protocol` means for the output shown, or null for one whose lines are read. */
export function olderHubNotice(protocol: number): string | null {
	if (protocol >= TOOL_LINES_SINCE) return null;
	return (
		`the server speaks realtime protocol ${protocol}, this aco ${PROTOCOL_VERSION}: ` +
		'its live lines are not read here, so output prints as each step ends (update the server)'
	);
}

/**
 * {@link olderHubNotice} in short, for the TUI's status line: with the task counts beside it, it
 * fits in 80 columns (the status line has 79).
 */
export function olderHubStatus(protocol: number): string | null {
	if (protocol >= TOOL_LINES_SINCE) return null;
	return `older server (protocol ${protocol}): update it for live output`;
}

/** Writes the notice to `err` the first time the hub's welcome names an older protocol. */
export function noticeOlderHub(client: RealtimeClient, err: Output): () => void {
	let told = false;
	return client.onControl((message) => {
		if (told || message.type !== 'welcome') return;
		const notice = olderHubNotice(message.data.protocol);
		if (!notice) return;
		told = true;
		err.write(`aco: ${notice}\n`);
	});
}
