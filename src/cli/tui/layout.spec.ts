import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { makeLines, makeTask } from '../../lib/realtime/test-fixtures';
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import { TOOL_LINES_SINCE } from '../../lib/protocol/limits';
import { olderHubStatus } from '../follow/older-hub';
import { KEY_HELP, renderDashboard } from './layout';
import { DashboardModel } from './model';

const NOW = Date.parse('2030-01-01T00:10:00Z');
const plain = (_color: string, text: string) => text;

function draw(model: DashboardModel, cols = 80, rows = 24): string[] {
	return renderDashboard(model, { cols, rows, now: NOW, server: '127.0.0.1:3000', paint: plain });
}

function dashboard(): DashboardModel {
	const model = new DashboardModel();
	model.endLoad([
		makeTask({ id: 't3', name: 'Package', status: 'queued', created_at: '2030-01-01T00:03:00Z' }),
		makeTask({
			id: 't2',
			name: 'Build',
			status: 'running',
			progress: 45,
			message: 'compiling 11/24',
			started_at: '2030-01-01T00:09:48Z',
			created_at: '2030-01-01T00:02:00Z'
		}),
		makeTask({
			id: 't1',
			name: 'Lint',
			status: 'failed',
			progress: 30,
			error: 'exit code 3',
			duration_ms: 2_500,
			created_at: '2030-01-01T00:01:00Z'
		})
	]);
	model.connection = { ...model.connection, state: 'connected' };
	return model;
}

describe('dashboard layout', () => {
	it('fills exactly 80x24: header, task rows with progress, output panel and key help', () => {
		const model = dashboard();
		model.move(1);
		model.showOutput({ taskId: 't2', executionId: 'x1', title: 'Compile', status: 'running' });
		model.appendOutput('x1', makeLines(1, 30));
		const screen = draw(model);
		expect(screen).toHaveLength(24);
		for (const line of screen) expect(stringWidth(line)).toBe(80);
		expect(screen[0]).toMatch(/^ aco · 127\.0\.0\.1:3000 +● live $/);
		expect(screen[1]).toMatch(/STATUS +PROGRESS +TASK/);
		expect(screen[2]).toMatch(/^ {2}· queued +░+ +0% +Package/);
		expect(screen[3]).toMatch(/^› ▶ running +█{5}░{7} +45% +Build · compiling 11\/24 +12\.0s$/);
		expect(screen[4]).toMatch(/^ {2}✖ failed .* 30% +Lint · exit code 3 +2\.5s$/);
		expect(screen[5]).toMatch(/^─ Output · Build › Compile \(running\) ─+ 30 lines ─$/);
		// the newest lines fill the panel down to the status line
		expect(screen[22]).toBe(' line 30'.padEnd(80));
		expect(screen[6]).toBe(' line 14'.padEnd(80));
		expect(screen[23]).toMatch(/^ ↑↓\/jk move · enter expand · c cancel · q quit +1 running · 1 failed {2}$/);
	});

	it('shows a failure notice in the status line and the cancel question while it waits', () => {
		const model = dashboard();
		const failed = makeTask({
			id: 't2',
			name: 'Build',
			status: 'failed',
			error: 'exit code 2',
			created_at: '2030-01-01T00:02:00Z'
		});
		const event = {
			type: 'task.failed',
			seq: 1,
			timestamp: '',
			data: {
				task_id: 't2',
				run_id: null,
				status: 'failed',
				error: 'exit code 2',
				duration_ms: 10,
				task: failed
			}
		} as AnyEventEnvelope;
		model.apply(event, NOW);
		expect(draw(model)[23]).toMatch(/^ ✖ Build failed: exit code 2 +$/);
		// failures close together share the line; a success does not hide them
		model.notify('failed', '✖ run demo failed', NOW + 500, 'run demo');
		model.notify('succeeded', '✔ Lint succeeded', NOW + 600);
		expect(draw(model)[23]).toMatch(/^ ✖ 2 failed: Build, run demo +$/);
		model.expireNotice(NOW + 60_000);
		expect(draw(model)[23]).toMatch(/^ ↑↓\/jk move/);
		model.confirmCancel = 't3';
		expect(draw(model)[23]).toMatch(/^ Cancel "Package"\? y = yes, any other key = no/);
	});

	it('shows the reconnect state with its attempt and countdown, and why it went offline', () => {
		const model = dashboard();
		model.connection = {
			state: 'reconnecting',
			attempt: 2,
			secondsUntilRetry: 3,
			offlineReason: null,
			lastClose: null
		};
		expect(draw(model)[0]).toMatch(/⟳ reconnecting \(attempt 2, retry in 3s\) $/);
		model.connection = {
			state: 'offline',
			attempt: 0,
			secondsUntilRetry: null,
			offlineReason: 'closed',
			lastClose: { code: 4500, reason: '', description: 'A valid token is required.' }
		};
		expect(draw(model)[0]).toMatch(/✖ offline: A valid token is required \(4500\) $/);
	});

	it('keeps the selected task in view in a long list and fits a resized, narrow terminal', () => {
		const model = new DashboardModel();
		model.endLoad(
			Array.from({ length: 40 }, (_, i) =>
				makeTask({
					id: `t${i}`,
					name: `task ${i}`,
					created_at: `2030-01-01T00:${String(59 - i).padStart(2, '0')}:00Z`
				})
			)
		);
		model.move(30);
		const screen = draw(model);
		expect(screen.some((line) => line.startsWith('› ') && line.includes('task 30'))).toBe(true);
		const narrow = draw(model, 40, 10);
		expect(narrow).toHaveLength(10);
		for (const line of narrow) expect(stringWidth(line)).toBe(40);
		expect(narrow.some((line) => line.startsWith('› '))).toBe(true);
	});

	it('expands the output panel to the whole screen', () => {
		const model = dashboard();
		model.showOutput({ taskId: 't3', executionId: 'x1', title: 'Step', status: 'running' });
		model.appendOutput('x1', makeLines(1, 100));
		model.expanded = true;
		const screen = draw(model);
		expect(screen[1]).toMatch(/^─ Output · Package › Step/);
		expect(screen.slice(2, 23)).toEqual(makeLines(80, 100).map((l) => ` ${l.text}`.padEnd(80)));
	});

	it('cuts wide characters and tool colour codes to the grid', () => {
		const model = dashboard();
		model.showOutput({ taskId: 't3', executionId: 'x1', title: 'Step', status: 'running' });
		model.appendOutput('x1', [
			{ n: 1, stream: 'stdout', ts: '', text: `\x1b[31m${'漢字'.repeat(50)}\x1b[0m` }
		]);
		const screen = draw(model);
		for (const line of screen) expect(stringWidth(line)).toBe(80);
		expect(screen.join('\n')).not.toContain('\x1b');
	});
});

describe('dashboard status line with an older hub', () => {
	it('says in short what the older hub means for the output, whole at 80 columns beside the task counts, while nothing more pressing is said', () => {
		const model = dashboard();
		model.olderHub = olderHubStatus(TOOL_LINES_SINCE - 1);
		let status = draw(model).at(-1)!;
		expect(stringWidth(status)).toBe(80);
		expect(status).toMatch(
			/^ older server \(protocol 2\): update it for live output +1 running · 1 failed {2}$/
		);
		expect(status).not.toContain('…');
		expect(status).not.toContain(KEY_HELP);
		// a notice and a failed reload come first, as they do before the keys
		model.notify('succeeded', '✔ Build succeeded', NOW);
		expect(draw(model).at(-1)).toMatch(/^ ✔ Build succeeded +$/);
		model.notice = null;
		model.olderHub = null;
		status = draw(model).at(-1)!;
		expect(status).toContain(KEY_HELP);
	});
});
