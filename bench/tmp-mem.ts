import { openBenchStore, lineText, lineStream } from './lib/fixtures';
import { createReadPool } from '../src/lib/server/downloads/read-pool';
import { logStream } from '../src/lib/server/http/log-stream';
import path from 'node:path';
const bench = await openBenchStore('mem');
const ts = new Date().toISOString();
for (let first = 0; first < 300_000; first += 10_000) {
	const batch = [];
	for (let i = first; i < first + 10_000; i++) batch.push({ n: i + 1, stream: lineStream(i), ts, text: lineText(i) });
	await bench.store.appendLogLines(bench.executionId, batch);
}
const mode = process.argv[2];
const pool = createReadPool({ file: path.join(bench.dir, 'aco.db'), logger: console as never });
const mb = (n: number) => (n / 1e6).toFixed(0);
for (let rep = 0; rep < 3; rep++) {
	const t0 = performance.now();
	const stream = mode === 'pool' ? pool.log(bench.executionId, { format: 'text' }) : logStream(bench.store, bench.executionId, { format: 'text' });
	const reader = stream.getReader();
	let bytes = 0, k = 0;
	const out: string[] = [];
	for (let r = await reader.read(); !r.done; r = await reader.read()) {
		bytes += r.value.byteLength;
		if (++k % 15 === 0) { const m = process.memoryUsage(); out.push(`${mb(m.rss)}/${mb(m.heapUsed)}/${mb(m.arrayBuffers)}`); }
	}
	console.log(mode, bytes, (performance.now() - t0).toFixed(0), 'ms', out.join(' '));
}
await pool.close();
await bench.dispose();
