import { existsSync } from 'node:fs';
import { getPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { READ_THREAD_NICENESS } from './thread-priority';

/** A thread that loads the module through tsx (as the read pool's dev worker does), lowers its own priority and reports. */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { getPriority } = require('node:os');
(async () => {
	const { tsImport } = await import('tsx/esm/api');
	const { lowerThreadPriority } = await tsImport(workerData.module, workerData.module);
	const lowered = lowerThreadPriority(workerData.by);
	const tid = Number(/\\/task\\/(\\d+)$/.exec(readlinkSync('/proc/thread-self'))[1]);
	parentPort.postMessage({ lowered, nice: getPriority(tid), process: getPriority(process.pid) });
})();
`;

describe.runIf(existsSync('/proc/thread-self'))('lowerThreadPriority', () => {
	it("lowers the calling thread's priority, not the event loop's thread", async () => {
		const before = getPriority();
		const worker = new Worker(THREAD, {
			eval: true,
			workerData: { module: new URL('./thread-priority.ts', import.meta.url).href, by: READ_THREAD_NICENESS }
		});
		const answer = await new Promise<{ lowered: boolean; nice: number; process: number }>(
			(resolve, reject) => {
				worker.once('message', resolve);
				worker.once('error', reject);
			}
		);
		await worker.terminate();
		expect(answer).toEqual({
			lowered: true,
			nice: Math.min(19, before + READ_THREAD_NICENESS),
			process: before
		});
		expect(getPriority()).toBe(before);
	});
});
