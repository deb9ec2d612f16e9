/**
 * @module bench/peers/producers
 * Ingest producers for the load generator: a task's output lines sent to aco the way `aco exec`
 * or a script would, over REST (`POST /api/v1/tasks/{id}/events`, one request at a time) or the
 * hub's producer role (`ingest.events` frames, a few in flight, each answered by `ingest.ack`).
 * Both resolve with the lines per second from the first request to the last answer.
 */
import { nowUs } from '../lib/stats';
import { RawClient } from './raw-client';

export interface IngestCommand {
	httpUrl: string;
	wsUrl: string;
	lines: number;
	/** lines per request or frame */
	perMessage: number;
	/** frames in flight over the WebSocket */
	window?: number;
}

export interface IngestResult {
	lines: number;
	seconds: number;
	linesPerSecond: number;
	taskId: string;
}

const lineOf = (n: number) => ({ text: `ingested line ${n} of the bench producer, about sixty bytes` });

function outputEvent(from: number, count: number) {
	return { type: 'output', step: 0, lines: Array.from({ length: count }, (_, i) => lineOf(from + i)) };
}

const START = { type: 'tool.start', step: 0, name: 'bench', command: 'bench', args: [], cwd: null };

export async function ingestRest(command: IngestCommand): Promise<IngestResult> {
	const post = async (path: string, body: unknown) => {
		const res = await fetch(`${command.httpUrl}${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body)
		});
		if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${await res.text()}`);
		return res.json() as Promise<{ task: { id: string } }>;
	};
	const { task } = await post('/api/v1/tasks', { name: 'bench ingest (REST)' });
	await post(`/api/v1/tasks/${task.id}/events`, { events: [START] });
	const started = nowUs();
	for (let sent = 0; sent < command.lines; sent += command.perMessage) {
		const count = Math.min(command.perMessage, command.lines - sent);
		await post(`/api/v1/tasks/${task.id}/events`, { events: [outputEvent(sent + 1, count)] });
	}
	const seconds = (nowUs() - started) / 1e6;
	return { lines: command.lines, seconds, linesPerSecond: command.lines / seconds, taskId: task.id };
}

export function ingestWs(command: IngestCommand): Promise<IngestResult> {
	const url = new URL(command.wsUrl);
	const window = command.window ?? 4;
	return new Promise((resolve, reject) => {
		let taskId = '';
		let next = 0;
		let acked = 0;
		let inFlight = 0;
		let started = 0;
		let id = 0;
		const frames = Math.ceil(command.lines / command.perMessage);
		const send = (message: object) => client.send(JSON.stringify({ ...message, id: `m${++id}` }));
		const pump = () => {
			while (inFlight < window && next < frames) {
				const from = next * command.perMessage;
				const count = Math.min(command.perMessage, command.lines - from);
				next += 1;
				inFlight += 1;
				send({ type: 'ingest.events', task_id: taskId, events: [outputEvent(from + 1, count)] });
			}
		};
		const client: RawClient = new RawClient({
			host: url.hostname,
			port: Number(url.port),
			path: url.pathname,
			onOpen: () => send({ type: 'producer.hello' }),
			onText: (data, start, end) => {
				const message = JSON.parse(data.toString('utf8', start, end)) as {
					type: string;
					data: { kind?: string; task?: { id: string }; message?: string };
				};
				if (message.type === 'error') {
					client.close();
					reject(new Error(`producer error: ${message.data.message}`));
					return;
				}
				if (message.type !== 'ingest.ack') return;
				const { kind } = message.data;
				if (kind === 'producer.hello')
					send({ type: 'ingest.create_task', task: { name: 'bench ingest (WebSocket)' } });
				else if (kind === 'ingest.create_task') {
					taskId = message.data.task!.id;
					send({ type: 'ingest.events', task_id: taskId, events: [START] });
				} else if (kind === 'ingest.events' && started === 0) {
					started = nowUs();
					pump();
				} else if (kind === 'ingest.events') {
					acked += 1;
					inFlight -= 1;
					if (acked === frames) {
						const seconds = (nowUs() - started) / 1e6;
						client.close();
						resolve({ lines: command.lines, seconds, linesPerSecond: command.lines / seconds, taskId });
					} else pump();
				}
			},
			onClose: (code) => reject(new Error(`producer socket closed with ${code}`))
		});
	});
}
