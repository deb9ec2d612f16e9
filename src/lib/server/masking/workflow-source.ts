/**
 * @module masking/workflow-source
 * A workflow file as the pages and the API show it: the values of its secret variables (names
 * that {@link secretNameTest} calls secret, e.g. `DEPLOY_TOKEN: …`) replaced by `***`, as in a
 * tool's output. The values stay in the file and are read from it only to run the step (see
 * orchestrator/spec-secrets); nobody reads them back through aco, whatever their role.
 *
 * Each secret value is cut out where YAML puts it (plain, quoted or block scalar, block or flow
 * mapping), and wherever else its text appears in the file (a `run:` line that repeats it, say).
 * A file that is not valid YAML is read as far as it parses; the lines the parser could not
 * place are also searched for `NAME: value`.
 *
 * @example
 * redactWorkflowSource('env:\n  DEPLOY_TOKEN: s3cr3t-value\n', secretNameTest())
 * // 'env:\n  DEPLOY_TOKEN: ***\n'
 */
import { isAlias, isPair, isScalar, parseDocument, visit } from 'yaml';
import { MASK, MaskSet } from './mask-set';
import type { SecretNameTest } from './secret-env';

/** `  - NAME: value` or `"NAME": value` on a line of its own (block style) */
const BLOCK_PAIR = /^(\s*(?:-\s+)?(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2\s*:[ \t]+)(\S.*?)\s*$/;

/** `source` with the value of every secret variable replaced by `***`. */
export function redactWorkflowSource(source: string, isSecret: SecretNameTest): string {
	const doc = parseDocument(source, { keepSourceTokens: false, prettyErrors: false, uniqueKeys: false });
	const cuts: [number, number][] = [];
	const values = new Set<string>();
	visit(doc, {
		Pair(_, pair) {
			if (!isPair(pair)) return;
			// `*name : value`: the key is the anchored text, as the loader reads it
			const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
			if (!isScalar(key) || !isSecret(String(key.value))) return;
			// `NAME: *anchor`: the value is the anchored text, cut out where the anchor writes it
			const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
			if (!isScalar(value) || value.value === null || value.value === '') return;
			// a block scalar's lines one by one: masked elsewhere, each stays on its own line
			for (const line of String(value.value).split('\n')) if (line.trim()) values.add(line.trim());
			// an anchored value is cut out once, however many aliases name it
			if (value.range && !cuts.some(([start]) => start === value.range![0])) {
				cuts.push([value.range[0], value.range[1]]);
			}
		}
	});
	let out = source;
	// from the end, so the earlier ranges still point at their text
	for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) {
		out = `${out.slice(0, start)}${maskLines(out.slice(start, end))}${out.slice(end)}`;
	}
	if (doc.errors.length > 0) out = redactBlockPairs(out, isSecret, values);
	// the same value elsewhere in the file (as short a value as it is, it is cut out above); every
	// value: the file bounds their number, and a task's limit would leave the rest shown
	const masks = new MaskSet(values, { maxValues: Infinity });
	return masks.size > 0 ? masks.mask(out) : out;
}

/** a file YAML could not read: `NAME: value` lines with a secret name, found line by line */
function redactBlockPairs(source: string, isSecret: SecretNameTest, values: Set<string>): string {
	const lines = source.split('\n');
	for (let i = 0; i < lines.length; i++) {
		const match = BLOCK_PAIR.exec(lines[i]!);
		if (!match || !isSecret(match[3]!) || match[4] === MASK) continue;
		lines[i] = `${match[1]}${MASK}`;
		if (!/^[|>]/.test(match[4]!)) {
			values.add(unquote(match[4]!));
			continue;
		}
		// a block scalar: its text is the lines below, indented deeper than the name
		const indent = indentOf(lines[i]!);
		while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || indentOf(lines[i + 1]!) > indent)) {
			i += 1;
			if (lines[i]!.trim() !== '') lines[i] = `${' '.repeat(indentOf(lines[i]!))}${MASK}`;
		}
	}
	return lines.join('\n');
}

/**
 * `***` in place of a value's text, line for line (a block scalar keeps its lines and their
 * indentation), so the line numbers of a load error still point at the right lines
 */
function maskLines(text: string): string {
	return text
		.split('\n')
		.map((line, i) => (line.trim() === '' ? line : `${i === 0 ? '' : ' '.repeat(indentOf(line))}${MASK}`))
		.join('\n');
}

function indentOf(line: string): number {
	return line.length - line.trimStart().length;
}

function unquote(text: string): string {
	const quoted = /^(["'])(.*)\1$/.exec(text);
	return quoted ? quoted[2]! : text;
}
