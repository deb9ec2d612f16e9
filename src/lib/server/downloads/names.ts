/**
 * @module downloads/names
 * File names for log downloads that say what they hold: `<workflow>-<task>-<step>.log`,
 * `….ansi.log` (escape codes kept), `….ndjson`, and the header that carries them.
 */

export type DownloadKind = 'log' | 'ansi' | 'ndjson';

const EXTENSIONS: Record<DownloadKind, string> = { log: '.log', ansi: '.ansi.log', ndjson: '.ndjson' };
/** one part of a name (a long step name made from its command line) is cut to this */
const MAX_PART = 40;

/** A name part: lower case letters, digits, `.`, `_`, `-`; anything else becomes `-`. */
export function slug(text: string): string {
	const cleaned = text
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9._]+/g, '-')
		.replace(/^[-.]+|[-.]+$/g, '');
	return cleaned.slice(0, MAX_PART).replace(/[-.]+$/, '');
}

/**
 * @example downloadName(['demo', 'build', 'Compile'], 'ansi') // 'demo-build-compile.ansi.log'
 */
export function downloadName(parts: (string | null | undefined)[], kind: DownloadKind): string {
	const base =
		parts
			.map((part) => (part ? slug(part) : ''))
			.filter(Boolean)
			.join('-') || 'aco-log';
	return base + EXTENSIONS[kind];
}

/** `attachment` with the name; slugs are ASCII, so no `filename*` is needed */
export function contentDisposition(name: string): string {
	return `attachment; filename="${name.replace(/["\\]/g, '_')}"`;
}

/** which kind a download query asks for */
export function downloadKind(format: 'text' | 'ndjson', ansi: 'keep' | 'strip' | undefined): DownloadKind {
	if (format === 'ndjson') return 'ndjson';
	return ansi === 'keep' ? 'ansi' : 'log';
}
