/**
 * Idle keep-alive connections cannot pile up without bound: the real server holds at most
 * ACO_MAX_HTTP_CONNECTIONS open, closes the next one unread, logs that (once for a flood), stays
 * up, and answers /api/v1/healthz again as soon as some of them close.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/aco-api';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const CAP = 20;

interface Exchange {
	/** everything the server sent */
	received: string;
	/** the connection, open when the server kept it alive after its answer */
	socket: net.Socket;
}

/**
 * Sends a health check on a new connection and resolves once the answer's status line is in, or
 * once the server closed the connection (with what it sent until then, nothing when it refused).
 */
function healthCheck(port: number, keepAlive: boolean): Promise<Exchange> {
	return new Promise((resolve) => {
		const socket = net.connect(port, '127.0.0.1', () =>
			socket.write(
				`GET /api/v1/healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
					`Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`
			)
		);
		let received = '';
		socket.setEncoding('latin1');
		socket.on('data', (chunk: string) => {
			received += chunk;
			if (/^HTTP\/1\.1 \d{3} /.test(received)) resolve({ received, socket });
		});
		socket.on('error', () => {});
		socket.on('close', () => resolve({ received, socket }));
	});
}

const refusalLines = (output: string) =>
	output.split('\n').filter((line) => line.includes('HTTP connection limit reached'));

describe('the cap on open HTTP connections', () => {
	let aco: AcoProcess;
	const held: net.Socket[] = [];

	beforeAll(async () => {
		aco = await startAco({
			workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
			env: { ACO_MAX_HTTP_CONNECTIONS: String(CAP), ACO_MAX_CONNECTIONS: '5' }
		});
	});
	afterAll(async () => {
		for (const socket of held) socket.destroy();
		await aco?.stop();
	});

	it('refuses connections past the cap and answers again once some close', async () => {
		// CAP idle keep-alive connections, each answered once, so the server has accepted every one
		for (let i = 0; i < CAP; i++) {
			const { received, socket } = await healthCheck(aco.port, true);
			expect(received).toMatch(/^HTTP\/1\.1 200 /);
			held.push(socket);
		}

		const refused = await healthCheck(aco.port, false);
		expect(refused.received).toBe('');
		expect(refused.socket.destroyed).toBe(true);
		await expect.poll(() => refusalLines(aco.output()).length).toBe(1);
		expect(refusalLines(aco.output())[0]).toContain(`"max":${CAP}`);

		// a flood of refusals is one line, not one per connection
		for (let i = 0; i < 5; i++) expect((await healthCheck(aco.port, false)).received).toBe('');

		// the held connections keep working meanwhile (the end of the first answer may come first)
		const answered = new Promise<string>((resolve) => {
			let received = '';
			held[0].on('data', (chunk: string) => {
				received += chunk;
				if (/HTTP\/1\.1 \d{3} /.test(received)) resolve(received);
			});
		});
		held[0].write(`GET /api/v1/healthz HTTP/1.1\r\nHost: 127.0.0.1:${aco.port}\r\n\r\n`);
		expect(await answered).toMatch(/HTTP\/1\.1 200 /);

		for (const socket of held.splice(0, 2)) socket.destroy();
		// the server counts a connection gone once it has seen it close: retried until then
		const answer = await waitFor(
			async () => {
				const { received } = await healthCheck(aco.port, false);
				return received !== '' && received;
			},
			20_000,
			'a health check after two connections closed'
		);
		expect(answer).toMatch(/^HTTP\/1\.1 200 /);
		expect(refusalLines(aco.output())).toHaveLength(1);
		expect(aco.proc.exitCode).toBeNull();
	});
});
