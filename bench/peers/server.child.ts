/**
 * @module bench/peers/server.child
 * One system under test in a process of its own (pinned to the server core), driven over IPC:
 * `start` → `started {url}`; `publish` makes lines in this process, flat out in bursts (as a
 * tool's output chunks arrive) or paced at a rate, and hands each to the system →
 * `published`; `cpu` → the process's CPU time and memory; `gc` → memory after a full
 * collection; `loop` → event-loop delay since the last ask; `stored` → lines in the store (aco);
 * `flood` (a peer) runs the flood tool on this process's core and publishes each line it prints
 * as it arrives, as aco's workflow step would → `flooded`;
 * `close` → `closed`.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { reply, serveParent } from '../lib/child';
import { collectGarbage, nowUs } from '../lib/stats';
import { lineText } from './event';
import { readFlood } from './flood';
import { startSystem, type SystemName, type SystemOptions, type SystemServer } from './systems';

export interface PublishCommand {
	count: number;
	/** lines per event-loop turn when flat out */
	burst: number;
	/** lines per second; 0 = flat out */
	rate: number;
	/** characters per line */
	textBytes: number;
	/** aco: which task's output (its index); `spread`: each line to the next task in turn */
	task?: number;
	spread?: boolean;
	/** the reply's kind (a publish running beside another one answers under its own name) */
	replyAs?: string;
	/** ws-frames: keep the lines in a backlog for the next client that connects (see SystemServer.keep) */
	backlog?: boolean;
}

let system: SystemServer | null = null;
let line = 0;
const loop = monitorEventLoopDelay({ resolution: 1 });

function current(): SystemServer {
	if (!system) throw new Error('no system started');
	return system;
}

async function publish(command: PublishCommand): Promise<{ startUs: number; endUs: number }> {
	const target = current();
	const startUs = nowUs();
	if (command.backlog) {
		if (!target.keep) throw new Error(`${target.name} keeps no backlog`);
		for (let sent = 0; sent < command.count; sent++) target.keep(lineText(++line, command.textBytes));
		return { startUs, endUs: nowUs() };
	}
	if (command.rate <= 0) {
		for (let sent = 0; sent < command.count;) {
			const end = Math.min(command.count, sent + command.burst);
			for (; sent < end; sent++) target.publish(lineText(++line, command.textBytes), taskOf(command, sent));
			await nextTurn();
		}
		return { startUs, endUs: nowUs() };
	}
	// paced: every millisecond, the lines due by now, each stamped with the time it was due. A
	// tool prints on its own clock: a server whose loop was busy when a line fell due (its
	// publish blocks, or its writes held the timer up) keeps the line waiting, and that wait is
	// latency. Stamped when made instead, the wait would not count (coordinated omission).
	const perUs = command.rate / 1e6;
	for (let sent = 0; sent < command.count;) {
		const due = Math.min(command.count, Math.floor((nowUs() - startUs) * perUs) + 1);
		for (; sent < due; sent++)
			target.publish(lineText(++line, command.textBytes, startUs + sent / perUs), taskOf(command, sent));
		if (sent < command.count) await sleep(1);
	}
	return { startUs, endUs: nowUs() };
}

function taskOf(command: PublishCommand, i: number): number {
	return command.spread ? i : (command.task ?? 0);
}

/**
 * CPU µs of the children this process has waited for (a workflow step's tool, once it exited),
 * from /proc; null where there is none. Clock ticks are 100 a second on Linux.
 */
function childrenCpuUs(): number | null {
	try {
		const stat = fs.readFileSync('/proc/self/stat', 'utf8');
		// after the command name, which may hold ") " itself
		const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
		// cutime and cstime, the 16th and 17th fields (after pid and comm)
		return (Number(fields[13]) + Number(fields[14])) * 10_000;
	} catch {
		return null;
	}
}

function memory() {
	const m = process.memoryUsage();
	return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

serveParent(async (message) => {
	switch (message.cmd) {
		case 'start': {
			system = await startSystem(message.system as SystemName, message.options as SystemOptions);
			loop.enable();
			reply({
				ok: 'started',
				url: system.url,
				httpUrl: system.httpUrl ?? null,
				taskIds: system.taskIds ?? [],
				executionIds: system.executionIds ?? [],
				pid: process.pid
			});
			return;
		}
		case 'publish': {
			const command = message as unknown as PublishCommand;
			const result = await publish(command);
			reply({ ok: command.replyAs ?? 'published', ...result });
			return;
		}
		case 'flood': {
			const target = current();
			const { startUs, endUs } = await readFlood(Number(message.lines), {
				onLine: (text) => target.publish(text, 0)
			});
			reply({ ok: 'flooded', startUs, endUs });
			return;
		}
		case 'cpu': {
			const { user, system: sys } = process.cpuUsage();
			reply({ ok: 'cpu', us: user + sys, sysUs: sys, childrenUs: childrenCpuUs(), at: nowUs(), ...memory() });
			return;
		}
		case 'gc': {
			collectGarbage(3);
			await sleep(50);
			collectGarbage(3);
			reply({ ok: 'gc', ...memory() });
			return;
		}
		case 'loop': {
			const result = {
				p50Ms: loop.percentile(50) / 1e6,
				p99Ms: loop.percentile(99) / 1e6,
				maxMs: loop.max / 1e6
			};
			loop.reset();
			reply({ ok: 'loop', ...result });
			return;
		}
		case 'fds':
			reply({ ok: 'fds', count: fs.readdirSync('/proc/self/fd').length });
			return;
		case 'stored':
			reply({ ok: 'stored', lines: (await current().storedLines?.()) ?? -1 });
			return;
		case 'close':
			await system?.close();
			system = null;
			reply({ ok: 'closed' });
			return;
		default:
			throw new Error(`unknown command ${JSON.stringify(message.cmd)}`);
	}
});
