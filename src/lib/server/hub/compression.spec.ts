import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../../../tests/helpers/hub-server';
import { compressionStats, deflateOptions, narrowDeflateWindow } from './compression';

describe('compression', () => {
	it('turns permessage-deflate off for "none" and maps the other levels to zlib levels', () => {
		expect(deflateOptions({ level: 'none', thresholdBytes: 0, concurrency: 1 })).toBe(false);
		const levels = (['fast', 'default', 'best'] as const).map((level) => {
			const options = deflateOptions({ level, thresholdBytes: 512, concurrency: 3 });
			if (!options) throw new Error('expected options');
			expect(options).toMatchObject({ threshold: 512, concurrencyLimit: 3 });
			return options.zlibDeflateOptions?.level;
		});
		expect(levels).toEqual([1, -1, 9]);
	});

	it('tells a negotiated deflate window smaller than the shared frames need from a full one', () => {
		const response = (params: string) => [
			'HTTP/1.1 101 Switching Protocols',
			`Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover${params}`
		];
		expect(narrowDeflateWindow(response('; server_max_window_bits=9'))).toBe(true);
		expect(narrowDeflateWindow(response('; server_max_window_bits=15'))).toBe(false);
		expect(narrowDeflateWindow(response('; client_max_window_bits=9'))).toBe(false);
		expect(narrowDeflateWindow(['HTTP/1.1 101 Switching Protocols'])).toBe(false);
	});

	it('reports the ratio of bytes after to bytes before', () => {
		const stats = compressionStats({ level: 'best', thresholdBytes: 0, concurrency: 1 }, 1000, 250);
		expect(stats).toMatchObject({ enabled: true, bytes_before: 1000, bytes_after: 250, ratio: 0.25 });
	});
});

describe('compression with real clients', () => {
	let s: HubServer | undefined;
	afterEach(async () => {
		await s?.stop();
		s = undefined;
	});

	it('sends a large line intact to a client that asked for a small deflate window', async () => {
		s = await startHubServer({ compression: { level: 'fast', thresholdBytes: 0, concurrency: 2 } });
		const client = await s.join({ perMessageDeflate: { serverMaxWindowBits: 9 } });
		expect(client.ws.extensions).toBe('permessage-deflate');
		await client.request({ type: 'subscribe', filter: {} });
		// 60 KB whose last 40 KB repeat what came 20 KB before: matches a 512-byte window cannot reach
		const block = randomBytes(15_000).toString('base64');
		const text = block.repeat(3);
		const timestamp = '2024-01-01T00:00:00.000Z';
		s.bus.publish({
			type: 'tool.lines',
			timestamp,
			data: {
				task_id: 't1',
				run_id: null,
				execution_id: 'x1',
				lines: [{ line: 1, output: text, is_stderr: false, timestamp }]
			}
		});
		const event = await client.next((m) => m.type === 'tool.lines');
		expect((event as { data: { lines: { output: string }[] } }).data.lines[0]!.output).toBe(text);
		expect(client.isOpen).toBe(true);
	});
});
