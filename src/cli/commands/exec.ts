/**
 * @module cli/commands/exec
 * `aco exec [--name …] -- <command…>`: runs a local command with its output printed as usual,
 * and reports it to the server as a stand-alone task (each stdout/stderr line numbered, with
 * `::progress` understood by the server). Everything is spooled to disk first, so the command
 * runs the same when the server is down; what the server has not acknowledged when the command
 * ends is retried for `--retry-for` ms and otherwise left for the next `aco` invocation.
 * Exits with the command's own code (128 + signal number when a signal ended it).
 *
 * Secrets never leave the machine: the values of its secret-looking variables (`*_TOKEN`,
 * `*_SECRET`, … and `ACO_MASK_ENV`), its token and what the command announces with
 * `::add-mask::` are masked before anything is spooled or sent. While the command runs, a
 * heartbeat tells the server it is alive, and a cancel from the dashboard stops the command
 * (SIGTERM, SIGKILL after the grace period) and reports the task cancelled. How the command is
 * run: cli/exec/child.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IngestEventInput } from '../../lib/protocol/ingest';
import { TOOL_LIMITS } from '../../lib/protocol/limits';
import { MaskSet } from '../../lib/server/masking/mask-set';
import { parseNameList, secretNameTest, secretValues } from '../../lib/server/masking/secret-env';
import { StreamMasker } from '../../lib/server/masking/stream-masker';
import { LineSplitter } from '../../lib/server/orchestrator/line-splitter';
import {
	CONNECTION_OPTIONS,
	CliError,
	connectionOf,
	helpText,
	intOption,
	MAX_WAIT_MS,
	parseCommand,
	type CommandSpec
} from '../args';
import { SUMMARIES } from './summaries';
import { atTerminal, runChild, type ChildResult, type OutputStream, type RunningChild } from '../exec/child';
import { DEFAULT_HEARTBEAT_MS, ProducerControl } from '../exec/control';
import { Delivery } from '../exec/delivery';
import { Spool, spoolDir } from '../exec/spool';
import { AcoHttp, HttpError } from '../http';

/** heartbeats more often than this would be a flood of requests, not a sign of life (0 meant one every millisecond) */
const MIN_HEARTBEAT_MS = 100;

/** how long the last output waits to be sent with more */
export const DEFAULT_FLUSH_MS = 50;
/** how long to keep trying to reach the server after the command ended */
export const DEFAULT_RETRY_FOR_MS = 30_000;
/** after a cancel from the server, how long the command has between SIGTERM and SIGKILL */
export const DEFAULT_KILL_GRACE_MS = 5_000;
const MAX_LINE_LENGTH = 16 * 1024;
/** one output event carries at most this much text, so a request stays small */
const MAX_EVENT_BYTES = 128 * 1024;
const MAX_NAME_LENGTH = 200;

export const spec: CommandSpec = {
	name: 'exec',
	usage: 'aco exec [--name <name>] [--url <url>] -- <command> [args…]',
	summary: SUMMARIES.exec,
	details: [
		'The output is printed as usual and streamed to the server line by line (stdout and stderr),',
		'"::progress value=N::message" lines set the task progress, and aco exits with the command\'s',
		'own exit code. When the server cannot be reached the command still runs; its output is kept',
		`in ${spoolDir()} (ACO_SPOOL_DIR) and sent when the server is back, or by the next aco command.`,
		'Values of secret-looking variables (*_TOKEN, *_SECRET, *_PASSWORD, *_KEY, *_CREDENTIALS, and',
		'ACO_MASK_ENV) and values announced with "::add-mask::value" are sent as ***. A cancel from the',
		'dashboard stops the command (SIGTERM, then SIGKILL after --kill-grace) and reports it cancelled.',
		'aco ends with the command: processes it left running (`sleep 60 &`) get 1 s of quiet output',
		'(10 s at most) before aco stops reading and says so; they are left running.'
	],
	options: {
		name: {
			type: 'string',
			short: 'n',
			value: '<name>',
			description: 'task name (default: the command line)'
		},
		'retry-for': {
			type: 'string',
			value: '<ms>',
			description: `keep trying to deliver after the command ended (env ACO_EXEC_RETRY_MS, default ${DEFAULT_RETRY_FOR_MS})`
		},
		'kill-grace': {
			type: 'string',
			value: '<ms>',
			description: `after a cancel from the server, time between SIGTERM and SIGKILL (env ACO_KILL_GRACE_MS, default ${DEFAULT_KILL_GRACE_MS})`
		},
		quiet: {
			type: 'boolean',
			short: 'q',
			description: "print nothing of aco's own on stderr (the task's link, delivery notices)"
		},
		...CONNECTION_OPTIONS
	},
	positionals: { min: 1, max: Number.MAX_SAFE_INTEGER, names: 'the command to run (after --)' }
};

export async function exec(argv: string[]): Promise<number> {
	// everything after `--` is the command, options included
	const dash = argv.indexOf('--');
	const own = dash === -1 ? argv : argv.slice(0, dash);
	const parsed = parseCommand({ ...spec, positionals: { ...spec.positionals!, min: 0 } }, own);
	if (parsed.help) {
		process.stdout.write(helpText(spec));
		return 0;
	}
	const command = dash === -1 ? parsed.positionals : [...parsed.positionals, ...argv.slice(dash + 1)];
	if (command.length === 0) throw new CliError(`aco exec: missing the command to run. Usage: ${spec.usage}`);
	const connection = connectionOf(parsed.values);
	const retryFor = intOption(
		'exec',
		parsed.values['retry-for'] === undefined ? 'ACO_EXEC_RETRY_MS' : 'retry-for',
		parsed.values['retry-for'] ?? process.env.ACO_EXEC_RETRY_MS,
		DEFAULT_RETRY_FOR_MS,
		0,
		MAX_WAIT_MS
	);
	const quiet = parsed.values.quiet === true;
	const killGraceMs = intOption(
		'exec',
		parsed.values['kill-grace'] === undefined ? 'ACO_KILL_GRACE_MS' : 'kill-grace',
		parsed.values['kill-grace'] ?? process.env.ACO_KILL_GRACE_MS,
		DEFAULT_KILL_GRACE_MS,
		0,
		MAX_WAIT_MS
	);
	// every setting is read before the spool exists: a wrong one must leave nothing to send later
	const heartbeatMs = intOption(
		'exec',
		'ACO_EXEC_HEARTBEAT_MS',
		process.env.ACO_EXEC_HEARTBEAT_MS,
		DEFAULT_HEARTBEAT_MS,
		MIN_HEARTBEAT_MS,
		MAX_WAIT_MS
	);
	const masks = new MaskSet([
		...secretValues(process.env, secretNameTest(parseNameList(process.env.ACO_MASK_ENV))),
		...(connection.token ? [connection.token] : [])
	]);
	const notice = (text: string) => {
		if (!quiet) process.stderr.write(`aco: ${text}\n`);
	};

	const name = (typeof parsed.values.name === 'string' && parsed.values.name) || command.join(' ');
	const spool = Spool.create(spoolDir(), {
		id: randomUUID(),
		url: connection.url,
		task: { name: masks.mask(name).slice(0, MAX_NAME_LENGTH), message: null, status: 'running' }
	});
	const http = new AcoHttp(connection);
	let child: RunningChild | null = null;
	const control = new ProducerControl({
		http,
		taskId: () => spool.state.task_id,
		intervalMs: heartbeatMs,
		onCancel: () => {
			notice('the task was cancelled from the aco server; stopping the command.');
			child?.stop(killGraceMs);
		},
		onEnded: (status, error) =>
			notice(
				`the aco server ended this task as ${status}${error ? ` (${error})` : ''}; the command runs on, but the server no longer records its output.`
			)
	});
	const delivery = new Delivery({
		http,
		spool,
		// one line, as soon as the task exists, so `aco logs <id>` or the page can follow it up
		onCreated: (taskId) => notice(`task ${taskId} · ${http.base}/tasks/${taskId}`),
		onOffline: (err) =>
			notice(`${err.message} The command runs anyway; its output is kept in ${spool.file}.`),
		onOnline: () => notice(`reached the aco server again; sending the kept output.`),
		onRejected: (err) =>
			notice(
				err instanceof HttpError
					? `the server refused the task (${err.message}); its output stays in ${spool.file}.`
					: `${err.message} Its output stays in ${spool.file}.`
			),
		onAnswer: (answer) => control.observe(answer)
	});
	const report = (events: IngestEventInput[]) => {
		spool.append(events);
		delivery.kick();
	};

	report([
		{
			type: 'tool.start',
			step: 0,
			// masked, then cut to what the server takes (a cut can show no part of a secret)
			name: cut(masks.mask(command[0]), TOOL_LIMITS.name),
			command: cut(masks.mask(command[0]), TOOL_LIMITS.text),
			args: cutArgs(command.slice(1).map((arg) => masks.mask(arg))),
			cwd: cut(process.cwd(), TOOL_LIMITS.text)
		}
	]);
	const output = outputReporter(report, masks);
	child = runChild({
		command,
		onOutput: output.write,
		notice,
		// at a terminal its Ctrl-C reaches the command without aco: see cli/exec/child.ts
		atTerminal: atTerminal()
	});
	control.start();
	const result = await child.result;
	output.end();
	control.stop();
	const cancelled = control.cancelRequested;
	report([
		{
			type: 'tool.end',
			step: 0,
			exit_code: result.code,
			signal: result.signal,
			...(cancelled ? { status: 'cancelled' as const, error: 'cancelled' } : {}),
			...(result.error ? { error: result.error } : {})
		},
		cancelled
			? { type: 'status', status: 'cancelled' }
			: result.code === 0
				? { type: 'status', status: 'succeeded' }
				: { type: 'status', status: 'failed', error: result.error ?? describeEnd(result) }
	]);
	spool.markComplete();

	const outcome = await delivery.drain(retryFor);
	delivery.stop();
	if (outcome === 'delivered') {
		spool.remove();
	} else if (outcome === 'pending') {
		// said as it happened: a server still away, or one that answered but did not take it all in time
		const within = retryFor > 0 ? ` within ${retryFor} ms` : '';
		const what = delivery.offline
			? `could not reach the aco server at ${connection.url}${within}`
			: `the aco server at ${connection.url} did not take the whole log${within}`;
		notice(`${what}; the log is kept in ${spool.file} and the next aco command will send it.`);
	}
	return result.exitCode;
}

/**
 * Turns the command's output into numbered `output` events, masked before they are spooled, and
 * sent together when they come in quick succession.
 */
function outputReporter(report: (events: IngestEventInput[]) => void, masks: MaskSet) {
	let n = 0;
	let pending: { n: number; stream: OutputStream; text: string; ts: string; partial?: true }[] = [];
	let pendingBytes = 0;
	let timer: NodeJS.Timeout | null = null;
	const flush = () => {
		if (timer) clearTimeout(timer);
		timer = null;
		if (pending.length === 0) return;
		report([{ type: 'output', step: 0, lines: pending }]);
		pending = [];
		pendingBytes = 0;
	};
	// a partial piece (a `\r` snapshot, part of an overlong line) says so, or the download would gain a newline
	const emit = (stream: OutputStream, text: string, partial: boolean) => {
		const ts = new Date().toISOString();
		pending.push({ n: ++n, stream, text, ts, ...(partial ? { partial: true as const } : {}) });
		pendingBytes += text.length * 3; // UTF-8 at worst
		if (pending.length >= 1_000 || pendingBytes >= MAX_EVENT_BYTES) flush();
		else timer ??= setTimeout(flush, DEFAULT_FLUSH_MS);
	};
	// secrets are masked before a line is spooled: the spool file never holds one
	const maskers = { stdout: new StreamMasker(masks), stderr: new StreamMasker(masks) };
	const line = (stream: OutputStream) => (text: string, partial: boolean) => {
		const piece = maskers[stream].push(text, partial);
		if (piece) emit(stream, piece.text, piece.partial);
	};
	const splitters = {
		stdout: new LineSplitter(line('stdout'), { maxLineLength: MAX_LINE_LENGTH }),
		stderr: new LineSplitter(line('stderr'), { maxLineLength: MAX_LINE_LENGTH })
	};
	return {
		write: (stream: OutputStream, chunk: Buffer) => splitters[stream].write(chunk),
		/** the command's output has ended: its last pieces are reported now */
		end: () => {
			splitters.stdout.end();
			splitters.stderr.end();
			for (const stream of ['stdout', 'stderr'] as const) {
				const rest = maskers[stream].flush();
				if (rest) emit(stream, rest.text, rest.partial);
			}
			flush();
		}
	};
}

/** `text`, or as much as fits in `max` characters ending with `…` */
function cut(text: string, max: number): string {
	return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** the arguments as the server takes them: each cut to size, the last kept one saying how many more there were */
function cutArgs(args: string[]): string[] {
	const cutOne = (arg: string) => cut(arg, TOOL_LIMITS.text);
	if (args.length <= TOOL_LIMITS.args) return args.map(cutOne);
	const kept = args.slice(0, TOOL_LIMITS.args - 1).map(cutOne);
	return [...kept, `… and ${args.length - kept.length} more arguments`];
}

function describeEnd(result: ChildResult): string {
	return result.signal ? `killed by ${result.signal}` : `exited with code ${result.code}`;
}
