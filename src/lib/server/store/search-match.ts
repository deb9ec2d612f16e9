/**
 * @module store/search-match
 * The matching of a log search, free of any state: which lines of a chunk match, and where. Runs
 * in the regex pool's worker threads (store/regex-worker.ts), so a pattern that backtracks for
 * seconds holds a worker, never the event loop. Lines are matched as a terminal shows them
 * (`displayText`), so offsets line up with what the browser draws.
 */
import type { LogSearchMatch } from '../../protocol/api';
import { displayText } from '../../log/terminal';

/** `[start, end)` of every non-empty match of `re` (global) in `text` */
export function matchRanges(re: RegExp, text: string): [number, number][] {
	const ranges: [number, number][] = [];
	re.lastIndex = 0;
	for (let m = re.exec(text); m !== null; m = re.exec(text)) {
		if (m[0].length === 0) re.lastIndex++;
		else ranges.push([m.index, m.index + m[0].length]);
	}
	return ranges;
}

/** whether `text` has a non-empty match of `re` (global) */
export function hasMatch(re: RegExp, text: string): boolean {
	re.lastIndex = 0;
	for (let m = re.exec(text); m !== null; m = re.exec(text)) {
		if (m[0].length > 0) return true;
		re.lastIndex++;
	}
	return false;
}

/** the numbers of the lines (`[n, raw text]`) with a non-empty match, in their order */
export function matchingLines(re: RegExp, lines: [number, string][]): number[] {
	const found: number[] = [];
	for (const [n, text] of lines) if (hasMatch(re, displayText(text))) found.push(n);
	return found;
}

/** every match range of each line (`[n, raw text]`), offsets into its `displayText` */
export function lineMatches(re: RegExp, lines: [number, string][]): LogSearchMatch[] {
	return lines.map(([line, text]) => ({ line, ranges: matchRanges(re, displayText(text)) }));
}
