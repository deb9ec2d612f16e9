/**
 * @module http/limits
 * What a request may cost before any route sees it. Node bounds the bytes of a header block
 * (`maxHeaderSize`) but counts only names and values, and past `maxHeadersCount` it drops
 * headers silently rather than refusing: 2,000 one-letter headers pass both. So the count is
 * checked here, on requests and upgrades alike, and answered with 431.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpLimitsConfig } from '../config';

/** Options for `http.createServer` from the configured limits. */
export function serverOptions(limits: HttpLimitsConfig): http.ServerOptions {
	return {
		maxHeaderSize: limits.maxHeaderBytes,
		headersTimeout: limits.headersTimeoutMs,
		requestTimeout: limits.requestTimeoutMs
	};
}

/** Applies what cannot be passed to `createServer`. */
export function applyServerLimits(server: http.Server, limits: HttpLimitsConfig): void {
	// Node keeps at least this many headers (it parses in groups of 32), enough to see one too many
	server.maxHeadersCount = limits.maxHeaders + 1;
	server.keepAliveTimeout = limits.keepAliveTimeoutMs;
}

export function tooManyHeaders(req: http.IncomingMessage, limits: HttpLimitsConfig): boolean {
	return req.rawHeaders.length / 2 > limits.maxHeaders;
}

const TOO_MANY = (max: number) =>
	JSON.stringify({
		error: {
			code: 'headers_too_large',
			message: `The request has more than ${max} header lines; send fewer.`
		}
	});

/** Answers a plain request that has too many headers with 431 and closes the connection. */
export function refuseRequest(res: http.ServerResponse, limits: HttpLimitsConfig): void {
	const body = TOO_MANY(limits.maxHeaders);
	res.writeHead(431, {
		'content-type': 'application/json; charset=utf-8',
		'content-length': Buffer.byteLength(body),
		connection: 'close',
		'x-content-type-options': 'nosniff'
	});
	res.end(body);
}

/** Answers an upgrade that has too many headers with 431, before any handshake. */
export function refuseUpgradeRequest(socket: Duplex, limits: HttpLimitsConfig): void {
	const body = TOO_MANY(limits.maxHeaders);
	socket.on('error', () => socket.destroy());
	socket.end(
		`HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
			`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
	);
}

/** The answer to a request Node's parser refused (`clientError`), by its error code. */
export function clientErrorResponse(code: string | undefined): string {
	const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
	return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}
