/**
 * @module store/regex-worker
 * A worker thread of the regex pool (store/regex-pool.ts): matches one chunk of lines per
 * message and answers with the result. It may be stopped in the middle of a match (a pattern
 * over its time limit), so it keeps no state that outlives a message but the last compiled
 * pattern. Unlike the download threads it keeps the process's priority: its time limit is
 * wall-clock time, and at a lower priority a busy machine (a tool compiling beside it) would starve
 * an ordinary pattern into `regex_timeout`.
 */
import { parentPort } from 'node:worker_threads';
import type { FromRegexWorker, ToRegexWorker } from './regex-pool';
import { lineMatches, matchingLines } from './search-match';

let compiled: RegExp | null = null;

function pattern(source: string, flags: string): RegExp {
	if (compiled?.source !== source || compiled.flags !== flags) compiled = new RegExp(source, flags);
	return compiled;
}

parentPort!.on('message', ({ id, job }: ToRegexWorker) => {
	let answer: FromRegexWorker;
	try {
		const re = pattern(job.source, job.flags);
		answer =
			job.op === 'lines'
				? { id, lines: matchingLines(re, job.lines) }
				: { id, matches: lineMatches(re, job.lines) };
	} catch (err) {
		answer = { id, error: err instanceof Error ? err.message : String(err) };
	}
	parentPort!.postMessage(answer);
});

parentPort!.postMessage({ ready: true } satisfies FromRegexWorker);
