/**
 * @module masking/mask-forms
 * The spellings under which a secret value turns up in tool output besides itself: base64 (a
 * token inside `Authorization: Basic …`, a Kubernetes secret, a `docker login` config) at each
 * of the three byte offsets the value may start at inside the encoded data, JSON string escaping
 * (a value printed inside a JSON document) and URL encoding (a value in a query string), each as
 * the common encoders spell it.
 *
 * A value of several lines becomes one mask per line: output is masked line by line, so only a
 * line of the value can ever be seen whole.
 */

/** values (and derived forms) shorter than this mask nothing: masking "1" would hide every 1 */
export const DEFAULT_MIN_MASK_LENGTH = 4;
/** longer values are masked line by line up to this length; a mask this long is never a secret alone */
export const MAX_MASK_LENGTH = 16 * 1024;

/**
 * Every text to mask for one secret value, the value's own lines first.
 * @example
 * maskForms('hunter22') // ['hunter22', 'aHVudGVyMj', 'h1bnRlcjIy', 'odW50ZXIyM']
 */
export function maskForms(value: string, minLength = DEFAULT_MIN_MASK_LENGTH): string[] {
	const forms = new Set<string>();
	const add = (form: string) => {
		if (form.length >= minLength && form.length <= MAX_MASK_LENGTH * 2) forms.add(form);
	};
	for (const raw of value.split(/\r?\n/)) {
		const line = raw.length > MAX_MASK_LENGTH ? raw.slice(0, MAX_MASK_LENGTH) : raw;
		if (line.trim().length < minLength) continue;
		add(line);
		// shells and .env files often carry a stray space or CR; the trimmed value leaks just the same
		add(line.trim());
	}
	for (const line of [...forms]) {
		for (const form of base64Forms(line)) add(form);
		for (const form of jsonForms(line)) add(form);
		for (const form of urlForms(line)) add(form);
	}
	return [...forms];
}

/**
 * `value` inside a JSON string, as the common encoders write it: escaped as JSON requires
 * (JavaScript); everything outside ASCII as `\uXXXX` too (Python's json.dumps, many loggers); with
 * the characters escaped for HTML safety as `\u00xx` (Go's encoding/json: `<>&`; .NET's
 * System.Text.Json, in capitals: also the quotes, `+`, the backtick and everything outside ASCII);
 * and with `/` as `\/` (PHP's json_encode, which escapes everything outside ASCII as well).
 */
export function jsonForms(value: string): string[] {
	const ascii = jsonEscape(value, /[\u007f-\uffff]/, false);
	return [
		JSON.stringify(value).slice(1, -1),
		ascii,
		jsonEscape(value, /[<>&\u2028\u2029]/, false),
		jsonEscape(value, /["<>&'+`\u007f-\uffff]/, true),
		ascii.replace(/\//g, '\\/')
	];
}

const SHORT_ESCAPES: Record<string, string> = {
	'"': '\\"',
	'\\': '\\\\',
	'\b': '\\b',
	'\f': '\\f',
	'\n': '\\n',
	'\r': '\\r',
	'\t': '\\t'
};

/** JSON string content: what JSON must escape, and every UTF-16 unit `extra` matches, as `\uXXXX` */
function jsonEscape(value: string, extra: RegExp, upper: boolean): string {
	let out = '';
	for (let i = 0; i < value.length; i++) {
		const c = value[i]!;
		const code = value.charCodeAt(i);
		if (extra.test(c) || (code < 0x20 && !SHORT_ESCAPES[c])) {
			const hex = code.toString(16).padStart(4, '0');
			out += `\\u${upper ? hex.toUpperCase() : hex}`;
		} else out += SHORT_ESCAPES[c] ?? c;
	}
	return out;
}

/**
 * `value` URL-encoded as the common encoders write it: JavaScript's encodeURIComponent; every
 * byte outside the unreserved characters `A-Za-z0-9-._~` (Python's quote_plus and quote with
 * `safe=''`, Go's QueryEscape, curl's --data-urlencode), also with `/` kept (Python's quote);
 * each with a space as `+` as HTML forms write it, and with the hex digits in lower case.
 */
export function urlForms(value: string): string[] {
	const component = encodeURIComponent(value);
	const strict = component.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
	const forms: string[] = [];
	for (const form of [component, strict, strict.replace(/%2F/g, '/')]) {
		for (const spelled of [form, form.replace(/%20/g, '+')]) {
			forms.push(
				spelled,
				spelled.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())
			);
		}
	}
	return forms;
}

/**
 * The characters of base64 text that depend on the value's bytes alone, for the value starting
 * at byte offset 0, 1 and 2 of a 3-byte group, in the standard and the URL-safe alphabet.
 * Characters that also carry bits of the neighbouring bytes are left out: they differ with the
 * surrounding data, while the rest always spells the same.
 */
export function base64Forms(value: string): string[] {
	const bytes = Buffer.from(value, 'utf8');
	const forms: string[] = [];
	for (let offset = 0; offset < 3; offset++) {
		const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
		// character j holds bits [6j, 6j + 6); the value holds bits [8·offset, 8·(offset + n))
		const first = Math.ceil((8 * offset) / 6);
		const end = Math.floor((8 * (offset + bytes.length)) / 6);
		if (end <= first) continue;
		const form = encoded.slice(first, end);
		forms.push(form);
		const urlSafe = form.replace(/\+/g, '-').replace(/\//g, '_');
		if (urlSafe !== form) forms.push(urlSafe);
	}
	return forms;
}
