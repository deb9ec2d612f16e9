import { describe, expect, it } from 'vitest';
import { base64Forms, maskForms } from './mask-forms';

const SECRET = 's3cr3t-Välue/+?&"\\';

describe('maskForms', () => {
	it('finds the value inside base64 of any surrounding data, at each of the three byte offsets', () => {
		const forms = maskForms(SECRET);
		for (const before of ['', 'a', 'ab', 'abc', 'user:']) {
			for (const after of ['', 'x', 'xy', ':z']) {
				const encoded = Buffer.from(before + SECRET + after).toString('base64');
				expect(
					forms.some((form) => encoded.includes(form)),
					`${before}|${after}`
				).toBe(true);
				const urlSafe = Buffer.from(before + SECRET + after).toString('base64url');
				expect(
					forms.some((form) => urlSafe.includes(form)),
					`url-safe ${before}|${after}`
				).toBe(true);
			}
		}
	});

	it('covers the value as a JSON string, ASCII-only JSON, URL-encoded and form-encoded', () => {
		const forms = maskForms(SECRET + ' x');
		const value = SECRET + ' x';
		expect(forms).toContain(value);
		expect(forms).toContain(JSON.stringify(value).slice(1, -1));
		expect(forms).toContain('s3cr3t-V\\u00e4lue/+?&\\"\\\\ x');
		expect(forms).toContain(encodeURIComponent(value));
		expect(forms).toContain(encodeURIComponent(value).replace(/%20/g, '+'));
	});

	it('covers the spellings of other common encoders: Python, Go, .NET and PHP', () => {
		const value = `Pa55!w0rd*(x)&<y>/ä 'q"+`;
		const forms = maskForms(value);
		for (const [encoder, spelled] of [
			// urllib.parse.quote_plus, Go's url.QueryEscape
			['quote_plus', 'Pa55%21w0rd%2A%28x%29%26%3Cy%3E%2F%C3%A4+%27q%22%2B'],
			// urllib.parse.quote (keeps /)
			['quote', 'Pa55%21w0rd%2A%28x%29%26%3Cy%3E/%C3%A4%20%27q%22%2B'],
			['lower-case hex', 'Pa55%21w0rd%2a%28x%29%26%3cy%3e%2f%c3%a4+%27q%22%2b'],
			['json.dumps', `Pa55!w0rd*(x)&<y>/\\u00e4 'q\\"+`],
			['Go encoding/json', `Pa55!w0rd*(x)\\u0026\\u003cy\\u003e/ä 'q\\"+`],
			['.NET System.Text.Json', 'Pa55!w0rd*(x)\\u0026\\u003Cy\\u003E/\\u00E4 \\u0027q\\u0022\\u002B'],
			['PHP json_encode', `Pa55!w0rd*(x)&<y>\\/\\u00e4 'q\\"+`]
		]) {
			expect(forms, encoder).toContain(spelled);
		}
		// a plain token has one spelling in each: nothing is added for it
		expect(
			maskForms('abcdEFGH1234-_.~').filter((form) => !base64Forms('abcdEFGH1234-_.~').includes(form))
		).toEqual(['abcdEFGH1234-_.~']);
	});

	it('masks a value of several lines line by line, trimmed too', () => {
		const forms = maskForms('first-line \r\nsecond-line\n\nok');
		expect(forms).toContain('first-line ');
		expect(forms).toContain('first-line');
		expect(forms).toContain('second-line');
		expect(forms).not.toContain('ok');
		expect(forms.some((form) => form.includes('\n'))).toBe(false);
	});

	it('leaves out values and derived forms shorter than the minimum', () => {
		expect(maskForms('abc')).toEqual([]);
		expect(maskForms('abcd').every((form) => form.length >= 4)).toBe(true);
		expect(maskForms('ab', 2)).toContain('ab');
	});

	it('keeps only the base64 characters the value alone decides', () => {
		// "Man" at offset 0 is exactly "TWFu"; at offset 1 the first character mixes in the byte before
		expect(base64Forms('Man')[0]).toBe('TWFu');
		expect(Buffer.from('xMan').toString('base64')).toContain(base64Forms('Man')[1]);
	});
});
