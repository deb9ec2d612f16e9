import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { capConnections } from './connection-cap';

interface LogLine {
	msg: string;
	max?: number;
	refused?: number;
	peer?: string;
}

/** An echo server with the cap, its log lines, and the server side of each accepted connection. */
async function cappedEchoServer(max: number) {
	const lines: LogLine[] = [];
	const logger = pino(
		{ level: 'info' },
		{ write: (line: string) => lines.push(JSON.parse(line) as LogLine) }
	);
	const accepted: net.Socket[] = [];
	const server = net.createServer((socket) => {
		accepted.push(socket);
		socket.on('error', () => {});
		socket.pipe(socket);
	});
	capConnections(server, { max, logger });
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as net.AddressInfo;
	return { server, port, lines, accepted };
}

/** Connects, writes `ping` and resolves with what came back before the connection closed or echoed. */
function ping(port: number, keep: net.Socket[]): Promise<string> {
	return new Promise((resolve) => {
		const socket = net.connect(port, '127.0.0.1', () => socket.write('ping'));
		let received = '';
		socket.setEncoding('latin1');
		socket.on('data', (chunk: string) => {
			received += chunk;
			if (received === 'ping') {
				keep.push(socket);
				resolve(received);
			}
		});
		socket.on('error', () => {});
		socket.on('close', () => resolve(received));
	});
}

const servers: net.Server[] = [];
const clients: net.Socket[] = [];
afterEach(async () => {
	for (const client of clients.splice(0)) client.destroy();
	await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('connection cap', () => {
	it('closes connections past the cap unread, and accepts again once one closes', async () => {
		const { server, port, accepted } = await cappedEchoServer(2);
		servers.push(server);
		expect(await ping(port, clients)).toBe('ping');
		expect(await ping(port, clients)).toBe('ping');

		expect(await ping(port, clients)).toBe('');
		expect(accepted).toHaveLength(2);

		const gone = new Promise((resolve) => accepted[0].once('close', resolve));
		clients[0].destroy();
		await gone;
		expect(await ping(port, clients)).toBe('ping');
	});

	it('logs the first refusal at once and counts the next ones into one line', async () => {
		const { server, port, lines } = await cappedEchoServer(1);
		servers.push(server);
		expect(await ping(port, clients)).toBe('ping');
		for (let i = 0; i < 4; i++) expect(await ping(port, clients)).toBe('');

		const refusals = () => lines.filter((line) => /connection limit/.test(line.msg));
		expect(refusals()).toEqual([expect.objectContaining({ max: 1, peer: '127.0.0.1' })]);

		// the three refused within the interval are reported when it ends, here with the server
		for (const client of clients.splice(0)) client.destroy();
		await new Promise((resolve) => server.close(resolve));
		servers.splice(0);
		expect(refusals()).toEqual([
			expect.objectContaining({ peer: '127.0.0.1' }),
			expect.objectContaining({ max: 1, refused: 3 })
		]);
	});
});
