import { describe, expect, it, vi } from 'vitest';
import { parseWorkflowFile } from './workflow-file';
import {
	INLINE_PARSE_BYTES,
	parseWorkflowOffLoop,
	ParseThreads,
	ParseThreadsClosedError,
	replyFor
} from './workflow-parse';

/** a chain of `count` tasks, each needing the one before, using every field a workflow has */
function chain(count: number): string {
	let text = 'name: chain\ndescription: a long one\ntasks:\n';
	for (let i = 0; i < count; i++) {
		text +=
			`  t${i}:\n${i ? `    needs: [t${i - 1}]\n` : ''}` +
			`    optional: ${i % 2 === 0}\n    weight: ${(i % 7) + 0.5}\n    retries: ${i % 3}\n` +
			`    steps:\n      - run: "echo task ${i}"\n        args: [a, ${i}, true]\n` +
			`        env: { N: ${i}, GREETING: "hé ${i}" }\n        timeout: ${(i % 5) + 0.25}\n      - run: "true"\n`;
	}
	return text;
}

/** How many event-loop turns pass while `work` runs. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
	let turns = 0;
	let turning = true;
	const spin = () => {
		if (!turning) return;
		turns++;
		setImmediate(spin);
	};
	setImmediate(spin);
	const value = await work();
	turning = false;
	return { value, turns };
}

describe('parseWorkflowOffLoop', () => {
	it('parses a large workflow in a thread of its own, the loop turning meanwhile, to what the loop would make of it', async () => {
		const text = chain(2_000);
		expect(text.length).toBeGreaterThan(INLINE_PARSE_BYTES);
		const { value, turns } = await turnsDuring(() => parseWorkflowOffLoop(text, '/flows/chain.yml'));
		expect(turns).toBeGreaterThan(0);
		expect(value).toStrictEqual(parseWorkflowFile(text, '/flows/chain.yml'));
		expect(value.ok && value.workflow.tasks).toHaveLength(2_000);
	});

	it('parses a small one at once, on the loop', async () => {
		const text = chain(3);
		const { value, turns } = await turnsDuring(() => parseWorkflowOffLoop(text, '/flows/small.yml'));
		expect(turns).toBe(0);
		expect(value).toEqual(parseWorkflowFile(text, '/flows/small.yml'));
	});

	it('reports a large broken file with its line as the loop would', async () => {
		const text = `${chain(2_000)}  broken: [unclosed\n`;
		const value = await parseWorkflowOffLoop(text, '/flows/broken.yml');
		expect(value.ok).toBe(false);
		expect(value).toEqual(parseWorkflowFile(text, '/flows/broken.yml'));
	});

	it('parses on the loop a text whose result JSON would make far larger (a long string its aliases share)', async () => {
		let text = `name: shared\ntasks:\n  t0:\n    steps: [{ run: &s "${'x'.repeat(20_000)}" }]\n`;
		for (let i = 1; i < 600; i++) text += `  t${i}:\n    steps: [{ run: *s }]\n`;
		expect(text.length).toBeGreaterThan(INLINE_PARSE_BYTES);
		const onLoop = parseWorkflowFile(text, '/flows/shared.yml');
		// 600 copies of 20,000 characters: not sent back as JSON
		expect(replyFor(onLoop, text)).toEqual({ tooLarge: true });
		expect(await parseWorkflowOffLoop(text, '/flows/shared.yml')).toStrictEqual(onLoop);
		// an ordinary large one is
		const ordinary = chain(2_000);
		expect(replyFor(parseWorkflowFile(ordinary, '/flows/chain.yml'), ordinary)).toHaveProperty('json');
	});
});

describe('ParseThreads', () => {
	it('stops a parse under way on close: the parse fails as shutting down, at once, with no thread left and no fallback', async () => {
		const threads = new ParseThreads();
		const onThreadFailed = vi.fn();
		// about a second of parsing, far longer than a terminate
		const parsing = parseWorkflowOffLoop(chain(4_000), '/flows/chain.yml', { threads, onThreadFailed });
		let settled = false;
		const outcome = parsing
			.then(
				() => 'parsed',
				(err: unknown) => err
			)
			.finally(() => (settled = true));
		await vi.waitFor(() => expect(threads.size).toBe(1));
		await threads.close();
		expect(threads.size).toBe(0);
		expect(settled).toBe(true);
		const err = await outcome;
		expect(err).toBeInstanceOf(ParseThreadsClosedError);
		expect(err).toMatchObject({ code: 'shutting_down' });
		// neither reported as a failed thread nor parsed on the loop after all
		expect(onThreadFailed).not.toHaveBeenCalled();
	});

	it('starts no thread once closed, and close() is idempotent', async () => {
		const threads = new ParseThreads();
		await threads.close();
		await expect(parseWorkflowOffLoop(chain(2_000), '/flows/chain.yml', { threads })).rejects.toBeInstanceOf(
			ParseThreadsClosedError
		);
		expect(threads.size).toBe(0);
		await threads.close();
		// a small text needs no thread: it still parses
		expect((await parseWorkflowOffLoop(chain(3), '/flows/small.yml', { threads })).ok).toBe(true);
	});
});
