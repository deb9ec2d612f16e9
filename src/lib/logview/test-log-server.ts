/**
 * @module logview/test-log-server
 * For the log stores' specs: a fetch that answers `/lines`, `/search`, `/outline` and `/log`
 * like the server does, over lines the test can grow.
 */
import { scriptedFetch } from '$lib/realtime/test-fixtures';
import type { LogLine, LogOutlineResponse, LogSearchResponse } from './types';

export interface FakeLogServer {
	lines: LogLine[];
	outline: LogOutlineResponse;
	search: (url: URL) => LogSearchResponse;
	/** answers wait for this when set */
	hold: Promise<void> | null;
}

export function logServer(executionId: string, lines: LogLine[] = []) {
	const state: FakeLogServer = {
		lines,
		outline: { groups: [], annotations: [], progress: [], truncated: false },
		search: () => ({ total: 0, matches: [], truncated: false }),
		hold: null
	};
	const base = `/api/v1/executions/${executionId}`;
	const { fetch, calls } = scriptedFetch({
		[`GET ${base}/lines`]: async (url) => {
			if (state.hold) await state.hold;
			const p = url.searchParams;
			const stream = p.get('stream') ?? 'both';
			const all = stream === 'both' ? state.lines : state.lines.filter((l) => l.stream === stream);
			const limit = Number(p.get('limit') ?? 1000);
			let start: number;
			if (p.has('tail')) start = Math.max(0, all.length - Number(p.get('tail')));
			else if (p.has('index')) start = Number(p.get('index'));
			else {
				const from = Number(p.get('from') ?? 1);
				start = all.findIndex((l) => l.n >= from);
				if (start < 0) start = all.length;
			}
			const page = all.slice(start, start + limit);
			return {
				execution_id: executionId,
				stream,
				total: all.length,
				last_line: state.lines.at(-1)?.n ?? 0,
				first_index: page.length ? start : null,
				lines: page
			};
		},
		[`GET ${base}/outline`]: () => state.outline,
		[`GET ${base}/search`]: (url) => state.search(url),
		[`GET ${base}/log`]: () => state.lines.map((l) => l.text + '\n').join('')
	});
	return { state, fetch, calls };
}

/** The line numbers a log holds at positions 1..total, `null` where it holds none. */
export function heldNumbers(log: {
	total: number;
	line(pos: number): LogLine | undefined;
}): (number | null)[] {
	const out: (number | null)[] = [];
	for (let pos = 1; pos <= log.total; pos++) out.push(log.line(pos)?.n ?? null);
	return out;
}
