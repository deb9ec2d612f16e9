/**
 * @module cli/http-json
 * One JSON request over node:http(s). The `aco` command's short requests go this way rather
 * than through `fetch`, whose first use loads undici: about 80 ms of CPU that `aco exec` would
 * add to every command it wraps.
 */
import http from 'node:http';
import https from 'node:https';

export interface JsonReply {
	status: number;
	statusText: string;
	/** the content-type header ('' without one) */
	contentType: string;
	/** the body as text ('' when empty) */
	text: string;
}

export interface JsonRequest {
	method: string;
	headers: Record<string, string>;
	body?: string;
	timeoutMs: number;
}

/** Rejects with an error whose `code` names the network failure (ECONNREFUSED, ETIMEDOUT, …). */
export function requestText(url: string, options: JsonRequest): Promise<JsonReply> {
	const target = new URL(url);
	const client = target.protocol === 'https:' ? https : http;
	return new Promise((resolve, reject) => {
		const req = client.request(
			target,
			{
				method: options.method,
				headers: {
					...options.headers,
					...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) })
				},
				// the command exits right after its last request; no socket is kept for later
				agent: false
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('error', reject);
				res.on('end', () =>
					resolve({
						status: res.statusCode ?? 0,
						statusText: res.statusMessage ?? '',
						contentType: res.headers['content-type'] ?? '',
						text: Buffer.concat(chunks).toString('utf8')
					})
				);
			}
		);
		req.setTimeout(options.timeoutMs, () =>
			req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' }))
		);
		req.on('error', reject);
		req.end(options.body);
	});
}
