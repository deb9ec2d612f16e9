import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTui, watch } from './watch';

class FakeStdin extends EventEmitter {
	isTTY = true;
	setRawMode() {}
}

class FakeStdout extends EventEmitter {
	isTTY = true;
	columns = 80;
	rows = 24;
	written = '';
	write(chunk: string) {
		this.written += chunk;
		return true;
	}
}

/** A server on port 0 that answers every WebSocket upgrade with `status`; counts the upgrades. */
async function refusingServer(status: number) {
	const server = http.createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	const state = { upgrades: 0 };
	server.on('upgrade', (_req, socket) => {
		// a client that goes away while refused resets the socket: no error to throw
		socket.on('error', () => {});
		state.upgrades++;
		socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
	return { state, port: (server.address() as AddressInfo).port };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('aco watch', () => {
	it('gives the terminal back and ends with exit code 1, naming the URL, when the upgrade is answered with 404', async () => {
		const { state, port } = await refusingServer(404);
		const stdout = new FakeStdout();
		let errors = '';
		let code: number | null = null;
		void watch({
			url: `http://127.0.0.1:${port}/aco`,
			stdin: new FakeStdin(),
			stdout,
			stderr: { write: (chunk: string) => (errors += chunk) },
			client: { backoff: { baseMs: 5, capMs: 5 } }
		}).then((c) => (code = c));
		await vi.waitFor(() => expect(code).toBe(1), { timeout: 10_000, interval: 5 });
		expect(errors).toBe(`aco: no aco WebSocket at ws://127.0.0.1:${port}/aco/ws (HTTP 404): check --url\n`);
		// the alternate screen is left, so the line is seen on the person's terminal
		expect(stdout.written.endsWith('\x1b[?1049l')).toBe(true);
		expect(state.upgrades).toBe(1);
	});

	it.each([
		[
			401,
			'Valid credentials are required: a token, or a browser signed in. (4500). The token sent came from ACO_TOKEN.'
		],
		[403, 'The credentials are valid but their role may not do this (an operator token is needed). (4504)']
	])(
		'gives the terminal back and ends with exit code 1 and the refusal when the upgrade is answered with %i (a wrong or revoked token)',
		async (status, why) => {
			const { state, port } = await refusingServer(status);
			const stdout = new FakeStdout();
			let errors = '';
			let code: number | null = null;
			void watch({
				url: `http://127.0.0.1:${port}`,
				token: 'revoked',
				tokenSource: 'ACO_TOKEN',
				stdin: new FakeStdin(),
				stdout,
				stderr: { write: (chunk: string) => (errors += chunk) },
				client: { backoff: { baseMs: 5, capMs: 5 } }
			}).then((c) => (code = c));
			await vi.waitFor(() => expect(code).toBe(1), { timeout: 10_000, interval: 5 });
			expect(errors).toBe(`aco: the server closed the connection: ${why}\n`);
			expect(stdout.written.endsWith('\x1b[?1049l')).toBe(true);
			expect(state.upgrades).toBe(1);
		}
	);
});

describe('aco server --tui', () => {
	it('keeps the dashboard up and says why on the status line when the upgrade is answered with 401', async () => {
		const { state, port } = await refusingServer(401);
		const stdout = new FakeStdout();
		let quit = false;
		const tui = startTui({
			url: `http://127.0.0.1:${port}`,
			stdin: new FakeStdin(),
			stdout,
			client: { backoff: { baseMs: 5, capMs: 5 } }
		});
		cleanups.push(() => tui.close());
		void tui.done.then(() => (quit = true));
		await vi.waitFor(() => expect(stdout.written).toContain('✖ offline: Valid credentials are required'), {
			timeout: 10_000,
			interval: 5
		});
		expect(quit).toBe(false);
		// still on the alternate screen: the server's dashboard stays until the person quits
		expect(stdout.written.endsWith('\x1b[?1049l')).toBe(false);
		expect(state.upgrades).toBe(1);
	});
});
