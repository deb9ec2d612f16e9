/**
 * `aco watch` in a real pseudo-terminal: tmux runs the command at 80x24 against a real server,
 * `send-keys` types and `capture-pane` reads the screen. Needs tmux (.ci/run installs it) and a
 * fresh `npx vite build`.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const SOCKET = `aco-watch-${process.pid}`;
const SESSION = 'watch';
const WORKFLOWS = path.join(ROOT, 'tests/fixtures/workflows');

function tmux(...args: string[]): string {
	// no user or system configuration, and a known shell for the command, whatever the machine has
	return execFileSync('tmux', ['-f', '/dev/null', '-L', SOCKET, ...args], {
		encoding: 'utf8',
		env: { ...process.env, SHELL: '/bin/sh' }
	});
}

function screen(): string {
	return tmux('capture-pane', '-p', '-t', SESSION);
}

/** Polls the screen until `test` passes; returns the screen that passed. */
async function waitForScreen(
	test: (text: string) => boolean,
	timeoutMs: number,
	what: string
): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		last = screen();
		if (test(last)) return last;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`the screen did not show ${what} within ${timeoutMs} ms; it shows:\n${last}`);
}

async function startRun(server: AcoProcess, workflow: string): Promise<string> {
	const res = await fetch(`${server.url}/api/v1/workflows/${workflow}/runs`, { method: 'POST' });
	expect(res.status).toBe(201);
	return ((await res.json()) as { run: { id: string } }).run.id;
}

function statusLine(text: string): string {
	return text.replace(/\n+$/, '').split('\n').at(-1) ?? '';
}

function newestTick(text: string): number {
	const ticks = [...text.matchAll(/^ tick (\d+)\s*$/gm)].map((m) => Number(m[1]));
	return ticks.length ? Math.max(...ticks) : 0;
}

describe('aco watch in a terminal', () => {
	let server: AcoProcess;

	beforeAll(async () => {
		server = await startAco({ workflowsDir: WORKFLOWS });
		const command = `node ${path.join(ROOT, 'bin/aco.js')} watch --url ${server.url}; echo "watch exited with $?"; sleep 600`;
		// -u: the screen is UTF-8 whatever the locale of the machine running the tests
		tmux('-u', 'new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', command);
		await waitForScreen((text) => text.includes('● live'), 20_000, 'the live connection');
	});

	afterAll(async () => {
		try {
			tmux('kill-server');
		} catch {
			// already gone
		}
		await server?.stop();
	});

	it('shows the running task with its progress, and new output lines as they come', async () => {
		await startRun(server, 'slow');
		const first = await waitForScreen(
			(text) => /› ▶ running +[█░]+ +\d+% +ticker/.test(text) && newestTick(text) > 0,
			10_000,
			'the running ticker task with output'
		);
		const seen = newestTick(first);
		// how soon is a benchmark's question; here: the next line comes without a key press
		await waitForScreen((text) => newestTick(text) > seen, 20_000, `a tick after ${seen}`);
		// ::progress every 10 ticks (1 s): the bar and the percentage move, and the command itself
		// is not printed as output
		const progress = (text: string) => {
			const bar = /ticker/.test(text) ? /▶ running +[█░]+ +(\d+)%/.exec(text) : null;
			return bar ? Number(bar[1]) : Number.NaN;
		};
		// read from a whole screen that shows the task below 90 % (it stops at 99)
		const before = progress(
			await waitForScreen((text) => progress(text) < 90, 20_000, 'the ticker below 90 %')
		);
		const moved = await waitForScreen((text) => progress(text) > before, 20_000, `progress past ${before}%`);
		expect(moved).not.toContain('::progress');
	});

	it('redraws at the new size when the terminal is resized', async () => {
		tmux('resize-window', '-t', SESSION, '-x', '100', '-y', '30');
		// the connection state sits at the right edge ("● live " is 7 columns; tmux trims the last space)
		const liveAt = (text: string) => text.split('\n')[0].indexOf('● live');
		const wide = await waitForScreen((text) => liveAt(text) === 93, 20_000, 'a 100-column header');
		expect(wide.replace(/\n+$/, '').split('\n')).toHaveLength(30);
		tmux('resize-window', '-t', SESSION, '-x', '80', '-y', '24');
		await waitForScreen((text) => liveAt(text) === 73, 20_000, 'an 80-column header again');
	});

	it('cancels the selected task after c and y', async () => {
		tmux('send-keys', '-t', SESSION, 'c');
		await waitForScreen((text) => text.includes('Cancel "ticker"? y = yes'), 20_000, 'the cancel question');
		tmux('send-keys', '-t', SESSION, 'y');
		await waitForScreen((text) => /› ⊘ cancelled .* ticker/.test(text), 10_000, 'the cancelled task');
	});

	it('shows a failure notice in the status line when a task fails', async () => {
		await startRun(server, 'failing');
		// one failure, or a burst of them (the optional task and the run fail too) in one notice
		const notice = /^ ✖ (breaks failed: .*exit|\d+ failed: .*\bbreaks\b)/;
		const text = await waitForScreen((t) => notice.test(statusLine(t)), 10_000, 'the failure notice');
		expect(text).toMatch(/✖ failed .* breaks/);
	});

	it('shows the reconnect state while the server restarts, then recovers', async () => {
		const { port, dataDir } = server;
		await server.stop();
		await waitForScreen(
			(text) => /⟳ reconnecting \(attempt \d+/.test(text.split('\n')[0]),
			5_000,
			'reconnecting'
		);
		server = await startAco({ port, dataDir, workflowsDir: WORKFLOWS });
		await waitForScreen((text) => text.split('\n')[0].includes('● live'), 20_000, 'live again');
		// the list reloaded from the restarted server: the tasks from before are still there
		await waitForScreen(
			(text) => /⊘ cancelled .* ticker/.test(text) && /breaks/.test(text),
			5_000,
			'the reloaded tasks'
		);
		await startRun(server, 'slow');
		await waitForScreen(
			(text) => newestTick(text) > 0 && /▶ running .* ticker/.test(text),
			10_000,
			'live output again'
		);
	});

	it('shows a task the restart interrupted with every column intact at 80x24', async () => {
		// a slow run is running (from the test above): a restart interrupts it
		const { port, dataDir } = server;
		await server.stop();
		server = await startAco({ port, dataDir, workflowsDir: WORKFLOWS });
		const row = /^[› ] ! interrupted +[█░]{12} +\d+% {2}ticker +\d+(\.\d)?(ms|s|m\d\ds)$/m;
		const text = await waitForScreen((t) => row.test(t), 30_000, 'the interrupted task');
		const line = row.exec(text)![0];
		// the status fits its column: the bar starts where it starts on every other row
		const header = text.split('\n').find((l) => l.includes('STATUS') && l.includes('PROGRESS'))!;
		expect(
			line.indexOf('█') === -1 ? line.indexOf('░') : Math.min(line.indexOf('█'), line.indexOf('░'))
		).toBe(header.indexOf('PROGRESS'));
		expect(line.length).toBeLessThanOrEqual(80);
	});

	it('quits on q with exit code 0 and gives the terminal back', async () => {
		tmux('send-keys', '-t', SESSION, 'q');
		const text = await waitForScreen((t) => t.includes('watch exited with'), 5_000, 'the exit');
		expect(text).toContain('watch exited with 0');
		expect(text).not.toContain('● live');
	});
});
