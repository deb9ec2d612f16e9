import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import { MAX_OUTLINE_ENTRIES, MAX_OUTLINE_MARKS } from '$lib/protocol';
import { buildOutline, logMarkOf } from '$lib/server/store/log-marks';
import { LogOutline, addCommandLine, mergeCommands } from './log-outline.svelte';
import { logServer } from './test-log-server';
import type { LogCommandRange, LogLine } from './types';

/** lines 1..count, every odd one a `::progress` command (each its own range) */
function alternating(count: number): LogLine[] {
	const lines: LogLine[] = [];
	for (let n = 1; n <= count; n++) {
		const text = n % 2 ? `::progress value=${n % 100}::step ${n}` : `item ${n}`;
		lines.push({ n, stream: 'stdout', ts: '2030-01-01T00:00:00.000Z', text });
	}
	return lines;
}

/** the outline the server answers for `lines` */
function serverOutline(lines: readonly LogLine[]) {
	const marks = lines.flatMap((line) => {
		const mark = logMarkOf(line.text);
		return mark ? [{ n: line.n, ...mark }] : [];
	});
	return buildOutline(marks);
}

/** the command ranges the server's outline lists for `lines` */
function serverCommands(lines: readonly LogLine[]): LogCommandRange[] {
	return serverOutline(lines).commands ?? [];
}

function setup() {
	const server = logServer('x1');
	const outline = new LogOutline('x1', { api: new ApiClient(server.fetch), storage: null });
	const push = (lines: readonly LogLine[]) => {
		for (const [i, line] of lines.entries()) outline.noteLive(line, lines[i - 1]);
	};
	return { server, outline, push };
}

describe('LogOutline live command lines', () => {
	// more command ranges than an outline lists: 12,000
	const COUNT = 2 * (MAX_OUTLINE_ENTRIES + 2_000);

	it('keeps the first command ranges past the cap, as the server does, so a hidden line never shows again', () => {
		const { outline, push } = setup();
		const lines = alternating(COUNT);
		push(lines);
		expect(outline.commands).toHaveLength(MAX_OUTLINE_ENTRIES);
		expect(outline.commands).toEqual(serverCommands(lines));
		// a new command line past the cap shows (a reload shows it too); the early ones stay hidden
		const more = alternating(COUNT + 3).slice(COUNT);
		push(more);
		expect(outline.commands[0]).toEqual({ start: 1, end: 1 });
		expect(outline.commands.at(-1)).toEqual({
			start: 2 * MAX_OUTLINE_ENTRIES - 1,
			end: 2 * MAX_OUTLINE_ENTRIES - 1
		});
		expect(outline.commands).toEqual(serverCommands([...lines, ...more]));
	});

	it('hides the same lines after a load as before it, past the cap too', async () => {
		const { server, outline, push } = setup();
		const lines = alternating(COUNT);
		push(lines);
		const before = outline.commands;
		server.state.outline = { ...server.state.outline, commands: serverCommands(lines), truncated: true };
		await outline.load();
		expect(outline.commands).toEqual(before);
	});

	it('keeps live lines the last load did not cover, joined to its ranges', async () => {
		const { server, outline, push } = setup();
		const lines = alternating(9);
		server.state.outline = { ...server.state.outline, commands: serverCommands(lines.slice(0, 5)) };
		push(lines);
		await outline.load();
		expect(outline.commands).toEqual([1, 3, 5, 7, 9].map((n) => ({ start: n, end: n })));
		push([{ ...lines[0], n: 10, text: '::add-mask::x' }]);
		expect(outline.commands.at(-1)).toEqual({ start: 9, end: 10 });
	});
});

describe('LogOutline live command lines past the marks an outline reads', () => {
	/** lines 1..count: every tenth a `::group::` (a mark, not a command), the others `::progress` */
	function marked(from: number, to: number): LogLine[] {
		const lines: LogLine[] = [];
		for (let n = from; n <= to; n++) {
			const text = n % 10 === 0 ? `::group::g${n}` : `::progress value=${n % 100}::`;
			lines.push({ n, stream: 'stdout', ts: '2030-01-01T00:00:00.000Z', text });
		}
		return lines;
	}
	const COUNT = MAX_OUTLINE_MARKS + 5_000;

	it('hides no command line past the last mark a reload reads, live as after a reload', async () => {
		const { server, outline, push } = setup();
		server.state.outline = serverOutline([]);
		await outline.load();
		const lines = marked(1, COUNT);
		push(lines);
		const reloaded = serverOutline(lines);
		expect(reloaded.commands_through).toBe(MAX_OUTLINE_MARKS);
		expect(outline.commands).toEqual(reloaded.commands);
		expect(outline.commands.at(-1)).toEqual({ start: MAX_OUTLINE_MARKS - 9, end: MAX_OUTLINE_MARKS - 1 });
		server.state.outline = reloaded;
		await outline.load();
		expect(outline.commands).toEqual(reloaded.commands);
		push(marked(COUNT + 1, COUNT + 3));
		expect(outline.commands).toEqual(reloaded.commands);
	});

	it('counts the marks a load read once, also when live lines it read come again', async () => {
		const { server, outline, push } = setup();
		server.state.outline = serverOutline(marked(1, 20_000));
		await outline.load();
		push(marked(15_000, COUNT));
		expect(outline.commands).toEqual(serverCommands(marked(1, COUNT)));
		// a line left out at the limit is not hidden by a later load either
		server.state.outline = serverOutline(marked(1, 30_000));
		await outline.load();
		expect(outline.commands).toEqual(serverCommands(marked(1, COUNT)));
	});

	it('takes no live command line past the line an outline says it read to', async () => {
		const { server, outline, push } = setup();
		server.state.outline = serverOutline(marked(1, COUNT));
		await outline.load();
		push(marked(COUNT + 1, COUNT + 9));
		expect(outline.commands).toEqual(serverCommands(marked(1, COUNT)));
	});
});

describe('LogOutline live lines the last load listed', () => {
	it('leave the room near the range cap to new command lines', async () => {
		const { server, outline, push } = setup();
		// the server lists one range fewer than the cap; the live lines repeat all of them, then go on
		const listed = alternating(2 * (MAX_OUTLINE_ENTRIES - 1));
		server.state.outline = { ...server.state.outline, commands: serverCommands(listed) };
		await outline.load();
		const lines = alternating(2 * MAX_OUTLINE_ENTRIES + 4);
		push(lines);
		expect(outline.commands).toHaveLength(MAX_OUTLINE_ENTRIES);
		expect(outline.commands).toEqual(serverCommands(lines));
	});
});

describe('addCommandLine', () => {
	it('extends a range with the line after it, and joins two ranges the line between them meets', () => {
		const ranges: LogCommandRange[] = [];
		for (const n of [1, 2, 4, 5]) addCommandLine(ranges, n, 10);
		expect(ranges).toEqual([
			{ start: 1, end: 2 },
			{ start: 4, end: 5 }
		]);
		expect(addCommandLine(ranges, 2, 10)).toBe(false);
		expect(addCommandLine(ranges, 3, 10)).toBe(true);
		expect(ranges).toEqual([{ start: 1, end: 5 }]);
	});

	it('opens no range past `max`, and an earlier line never pushes a held one out', () => {
		const ranges: LogCommandRange[] = [];
		for (const n of [10, 20]) addCommandLine(ranges, n, 2);
		expect(addCommandLine(ranges, 30, 2)).toBe(false);
		expect(addCommandLine(ranges, 21, 2)).toBe(true);
		// line 20-21 stays hidden: 5 shows until a load lists it
		expect(addCommandLine(ranges, 5, 2)).toBe(false);
		expect(addCommandLine(ranges, 9, 2)).toBe(true);
		expect(ranges).toEqual([
			{ start: 9, end: 10 },
			{ start: 20, end: 21 }
		]);
		const full = [
			{ start: 5, end: 5 },
			{ start: 10, end: 10 }
		];
		expect(addCommandLine(full, 3, 2)).toBe(false);
		expect(full).toEqual([
			{ start: 5, end: 5 },
			{ start: 10, end: 10 }
		]);
	});
});

describe('mergeCommands', () => {
	it('joins touching ranges of both lists in line order and keeps the first MAX_OUTLINE_ENTRIES', () => {
		expect(
			mergeCommands(
				[{ start: 1, end: 2 }],
				[
					{ start: 3, end: 3 },
					{ start: 6, end: 7 }
				]
			)
		).toEqual([
			{ start: 1, end: 3 },
			{ start: 6, end: 7 }
		]);
		const server = Array.from({ length: MAX_OUTLINE_ENTRIES }, (_, i) => ({
			start: 2 * i + 1,
			end: 2 * i + 1
		}));
		const merged = mergeCommands(server, [
			{ start: 2 * MAX_OUTLINE_ENTRIES, end: 2 * MAX_OUTLINE_ENTRIES },
			{ start: 2 * MAX_OUTLINE_ENTRIES + 5, end: 2 * MAX_OUTLINE_ENTRIES + 5 }
		]);
		expect(merged).toHaveLength(MAX_OUTLINE_ENTRIES);
		expect(merged.at(-1)).toEqual({ start: 2 * MAX_OUTLINE_ENTRIES - 1, end: 2 * MAX_OUTLINE_ENTRIES });
	});
});
