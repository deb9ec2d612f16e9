/**
 * @module bench/peers/peer-flood
 * A peer server running the flood tool (scenarios 0 and 10): the tool on the server's core, as
 * aco's workflow step is on aco's, each line published to the connected clients as it is read,
 * nothing stored. The ceiling for passing a fast tool's lines on.
 */
import type { Suite } from './suite';
import type { SystemName } from './systems';

export interface PeerFlood {
	/** from the tool's start to its last line read (and published) by the server */
	toolSeconds: number;
	/** from the tool's start to the last line at the last client (the tool's time with none) */
	deliveredSeconds: number;
}

/**
 * Runs the flood tool for `lines` lines in a fresh server of `peer` with `clients` clients
 * connected (none: the tool's time on that server with no one watching), every line checked to
 * reach each client in order; with `warmLines`, a flood of that many first, not counted. The
 * server is closed after, so the next one has the core to itself.
 */
export async function peerFlood(
	suite: Suite,
	peer: SystemName,
	lines: number,
	clients: number,
	options: { warmLines?: number } = {}
): Promise<PeerFlood> {
	const server = await suite.server(peer);
	try {
		const group = `flood-${peer}-${clients}`;
		if (clients > 0) await suite.connect(server, group, clients);
		// not counted: the server's paths compiled, as aco's are by its warm-up runs
		if (options.warmLines) {
			if (clients > 0) await suite.loadgen.expect(group, [options.warmLines], [true]);
			await server.flood(options.warmLines);
			if (clients > 0 && !(await suite.loadgen.delivered(group, 600_000))) {
				throw new Error(`${peer}: the warm-up flood did not reach every client`);
			}
		}
		if (clients > 0) await suite.loadgen.expect(group, [lines], [true]);
		const { startUs, endUs } = await server.flood(lines);
		const toolSeconds = (endUs - startUs) / 1e6;
		if (clients === 0) return { toolSeconds, deliveredSeconds: toolSeconds };
		const delivered = await suite.loadgen.delivered(group, 600_000);
		const report = await suite.loadgen.report(group);
		if (!delivered || report.complete !== report.clients) {
			throw new Error(
				`${peer}: ${report.complete} of ${report.clients} clients got every line in order` +
					[...report.closes, ...report.orderErrors].map((l) => `; ${l}`).join('')
			);
		}
		await suite.disconnect(group);
		return { toolSeconds, deliveredSeconds: (Math.max(endUs, report.lastUs) - startUs) / 1e6 };
	} finally {
		await server.close();
	}
}
