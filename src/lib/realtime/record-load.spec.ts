import { describe, expect, it } from 'vitest';
import { coalescedLoad, loadFailure } from './record-load';

function deferred() {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => (resolve = r));
	return { promise, resolve };
}

describe('coalescedLoad', () => {
	it('shares a running load among callers and runs one more after it, never two at once', async () => {
		const pending: ReturnType<typeof deferred>[] = [];
		let running = 0;
		let most = 0;
		const load = coalescedLoad(async () => {
			running++;
			most = Math.max(most, running);
			const step = deferred();
			pending.push(step);
			await step.promise;
			running--;
		});
		const first = load();
		const second = load();
		const third = load();
		expect(second).toBe(first);
		expect(third).toBe(first);
		expect(pending).toHaveLength(1);
		pending[0].resolve();
		await expect.poll(() => pending.length).toBe(2);
		pending[1].resolve();
		await first;
		// three calls, two loads: the one running and one that began after the later calls
		expect(pending).toHaveLength(2);
		expect(most).toBe(1);
		// once settled, a call starts afresh
		const fourth = load();
		expect(fourth).not.toBe(first);
		pending[2].resolve();
		await fourth;
	});

	it('goes on after a failed load rather than leaving later calls waiting', async () => {
		let calls = 0;
		const load = coalescedLoad(async () => {
			calls++;
			if (calls === 1) throw new Error('down');
		});
		await expect(load()).rejects.toThrow('down');
		await load();
		expect(calls).toBe(2);
	});
});

describe('loadFailure', () => {
	it('shows a 404 as not found and anything else as an error with its message', () => {
		expect(loadFailure(Object.assign(new Error('no such task'), { status: 404 }))).toEqual({
			status: 'not_found',
			error: 'no such task'
		});
		expect(loadFailure(new Error('boom'))).toEqual({ status: 'error', error: 'boom' });
		expect(loadFailure('odd')).toEqual({ status: 'error', error: 'odd' });
	});
});
