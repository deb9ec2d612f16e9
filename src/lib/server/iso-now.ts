/**
 * @module iso-now
 * The current time as an ISO 8601 string, formatted once per millisecond: a tool printing
 * thousands of lines a millisecond stamps each line and its event, and a `Date` plus
 * `toISOString()` for each was a measurable share of what a line costs.
 */
let lastMs = Number.NaN;
let lastIso = '';

/** `new Date().toISOString()`, the same string for every call within one millisecond */
export function isoNow(): string {
	const ms = Date.now();
	if (ms !== lastMs) {
		lastMs = ms;
		lastIso = new Date(ms).toISOString();
	}
	return lastIso;
}
