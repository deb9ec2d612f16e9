import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watch } from './watch';

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
});
