import { describe, expect, it } from 'vitest';
import type { Execution } from '$lib/protocol';
import { StepFocus, type StepSource } from './step-focus.svelte';
import { makeExecution } from './test-fixtures';

/** a task whose steps start one after the other; `next()` ends the running one and starts another */
function steps() {
	const source: StepSource & { executions: Execution[] } = {
		executions: [makeExecution({ id: 'x1', step: 0 })],
		get focusExecution() {
			return this.executions.findLast((e) => e.status === 'running') ?? this.executions.at(-1) ?? null;
		}
	};
	const next = () => {
		const list = source.executions.map((e) => ({ ...e, status: 'succeeded' as const }));
		source.executions = [...list, makeExecution({ id: `x${list.length + 1}`, step: list.length })];
	};
	return { source, next };
}

describe('StepFocus', () => {
	it('shows the running step and moves to the next one as it starts', () => {
		const { source, next } = steps();
		const focus = new StepFocus(source);
		expect(focus.selected?.id).toBe('x1');
		focus.noteLogFollowing('x1', true);
		next();
		expect(focus.selected?.id).toBe('x2');
		expect(focus.followsRunning).toBe(true);
	});

	it('keeps the step a reader scrolled up in when the next one starts, until they follow again', () => {
		const { source, next } = steps();
		const focus = new StepFocus(source);
		focus.noteLogFollowing('x1', false);
		next();
		expect(focus.selected?.id).toBe('x1');
		expect(focus.followsRunning).toBe(false);
		focus.followRunning();
		expect(focus.selected?.id).toBe('x2');
		expect(focus.followsRunning).toBe(true);

		focus.noteLogFollowing('x2', false);
		next();
		expect(focus.selected?.id).toBe('x2');
		focus.pick('x1');
		expect(focus.selected?.id).toBe('x1');
	});

	it('lets a reader rest at the end of a step that has finished: only a running step lets go there', () => {
		const { source, next } = steps();
		const focus = new StepFocus(source);
		// back at the end while the step still runs: the page follows the running step again
		focus.noteLogFollowing('x1', false);
		focus.noteLogFollowing('x1', true);
		expect(focus.picked).toBeNull();
		next();
		expect(focus.selected?.id).toBe('x2');

		// once the next step has started, the end of the one read (its result, its error) stays
		focus.noteLogFollowing('x2', false);
		next();
		focus.noteLogFollowing('x2', true);
		expect(focus.selected?.id).toBe('x2');
		expect(focus.followsRunning).toBe(false);
		next();
		expect(focus.selected?.id).toBe('x2');
		focus.followRunning();
		expect(focus.selected?.id).toBe('x4');
	});

	it('keeps a clicked step when its log follows its end, and a click moves a pin made by reading', () => {
		const { source, next } = steps();
		next();
		const focus = new StepFocus(source, 'x1');
		focus.noteLogFollowing('x1', true);
		expect(focus.selected?.id).toBe('x1');
		// pausing in a picked step changes nothing
		focus.noteLogFollowing('x1', false);
		focus.noteLogFollowing('x1', true);
		expect(focus.selected?.id).toBe('x1');

		focus.followRunning();
		focus.noteLogFollowing('x2', false);
		focus.pick('x1');
		// the new pick is a click's: following in it does not let go
		focus.noteLogFollowing('x1', true);
		expect(focus.selected?.id).toBe('x1');
	});
});
