/**
 * @module bench/peers/flood
 * The flood tool of scenarios 0 and 10: a Node script that prints numbered lines as fast as its
 * stdout takes them, and what reads it without aco: a bare pipe that only counts the lines (the
 * tool's own ceiling) or one that hands each line's text on (a peer server publishing it). A
 * tool started from a pinned process runs on that process's core, as aco's workflow step does.
 */
import { spawn } from 'node:child_process';
import { nowUs } from '../lib/stats';

/** A Node script that prints `lines` numbered lines as fast as its stdout takes them. */
export function floodScript(lines: number): string {
	return [
		`const total = ${lines};`,
		'let i = 1;',
		'const pump = () => {',
		'  while (i <= total) {',
		"    let chunk = '';",
		"    for (const end = Math.min(total, i + 2000); i <= end; i++) chunk += 'line ' + i + ' of the flood, printed as fast as the pipe allows\\n';",
		"    if (!process.stdout.write(chunk)) return void process.stdout.once('drain', pump);",
		'  }',
		'};',
		'pump();'
	].join('\n');
}

export interface FloodRead {
	startUs: number;
	endUs: number;
	linesPerSecond: number;
}

/**
 * Runs the tool for `lines` lines (pinned to `cpu` when given) and reads its stdout: with
 * `onLine`, each line's text (without its newline) is handed on as it arrives; without, the
 * lines are only counted. Rejects when the tool fails or prints another number of lines.
 */
export async function readFlood(
	lines: number,
	options: { cpu?: number; onLine?: (text: string) => void } = {}
): Promise<FloodRead> {
	const node = [process.execPath, '-e', floodScript(lines)];
	const [command, ...args] =
		options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
	const startUs = nowUs();
	const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
	const { onLine } = options;
	let newlines = 0;
	// the start of a line the previous chunk did not finish (bytes: a character may be split too)
	let rest: Buffer | null = null;
	child.stdout.on('data', (chunk: Buffer) => {
		let from = 0;
		for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) {
			newlines += 1;
			if (onLine) {
				onLine(
					rest ? Buffer.concat([rest, chunk.subarray(from, at)]).toString() : chunk.toString('utf8', from, at)
				);
				rest = null;
			}
			from = at + 1;
		}
		if (onLine && from < chunk.length)
			rest = rest ? Buffer.concat([rest, chunk.subarray(from)]) : Buffer.from(chunk.subarray(from));
	});
	const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
	if (code !== 0 || newlines !== lines) {
		throw new Error(`the flood tool exited ${code} after ${newlines} of ${lines} lines`);
	}
	const endUs = nowUs();
	return { startUs, endUs, linesPerSecond: lines / ((endUs - startUs) / 1e6) };
}
