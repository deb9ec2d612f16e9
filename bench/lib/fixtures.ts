/**
 * @module bench/lib/fixtures
 * What the benchmarks work on: a real SQLite store in a fresh temporary folder (a file
 * database in WAL mode, as in production) holding one execution, and log lines that look
 * like a build's output, varied in length and the same in every run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LogStream } from '../../src/lib/protocol/models';
import { openSqliteStore } from '../../src/lib/server/store/sqlite-store';
import type { Store } from '../../src/lib/server/store/types';
import { createStandaloneTask, createTestExecution } from '../../src/lib/server/store/test-records';

export interface BenchStore {
	dir: string;
	store: Store;
	taskId: string;
	executionId: string;
	/** closes the store and deletes its folder */
	dispose(): Promise<void>;
}

export async function openBenchStore(name: string): Promise<BenchStore> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), `aco-bench-${name}-`));
	const store = openSqliteStore(dir);
	const task = await createStandaloneTask(store, { key: name, name });
	const execution = await createTestExecution(store, task.id, { name, command: 'bench' });
	let disposed = false;
	return {
		dir,
		store,
		taskId: task.id,
		executionId: execution.id,
		async dispose() {
			if (disposed) return;
			disposed = true;
			await store.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

const MODULES = ['compiler', 'bundler', 'linker', 'test-runner', 'packager', 'uploader', 'resolver', 'cache'];
const VERBS = ['compiled', 'resolved', 'checked', 'wrote', 'skipped (cached)', 'transformed', 'hashed'];
/** distinct tails, so lines vary in length (roughly 60–160 characters) */
const TAILS = Array.from({ length: 64 }, (_, i) => 'lorem ipsum dolor sit amet '.repeat(i % 4).trim());

/** The text of line `i` (0-based); deterministic, so every run stores the same bytes. */
export function lineText(i: number): string {
	const module = MODULES[i % MODULES.length];
	const verb = VERBS[(i >> 3) % VERBS.length];
	const ms = ((i * 7919) % 5000) / 10;
	return `[${module}] ${verb} src/lib/module-${i % 997}/file-${i}.ts in ${ms} ms ${TAILS[i % TAILS.length]}`;
}

/** every tenth line goes to stderr, as warnings would */
export function lineStream(i: number): LogStream {
	return i % 10 === 9 ? 'stderr' : 'stdout';
}
