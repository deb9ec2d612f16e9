import { describe, expect, it } from 'vitest';
import { contentDisposition, downloadKind, downloadName, slug } from './names';

describe('download names', () => {
	it('join workflow, task and step as slugs with an extension saying what the file holds', () => {
		expect(downloadName(['demo', 'build', 'Compile'], 'log')).toBe('demo-build-compile.log');
		expect(downloadName(['demo', 'build', 'Compile'], 'ansi')).toBe('demo-build-compile.ansi.log');
		expect(downloadName(['demo', 'build', 'Compile'], 'ndjson')).toBe('demo-build-compile.ndjson');
		// a stand-alone task has no workflow
		expect(downloadName([null, 'npm test', 'npm test'], 'log')).toBe('npm-test-npm-test.log');
	});

	it('keep names plain and short whatever a step is called', () => {
		expect(slug('Résumé: "x" / y')).toBe('resume-x-y');
		expect(slug('../../etc/passwd')).toBe('etc-passwd');
		expect(slug('node demo/work.mjs compile --items 24 --to 70 --verbose --more')).toHaveLength(40);
		expect(downloadName(['', '***'], 'log')).toBe('aco-log.log');
		expect(contentDisposition('a"b.log')).toBe('attachment; filename="a_b.log"');
	});

	it('read the kind from the query', () => {
		expect(downloadKind('ndjson', 'keep')).toBe('ndjson');
		expect(downloadKind('text', 'keep')).toBe('ansi');
		expect(downloadKind('text', 'strip')).toBe('log');
		expect(downloadKind('text', undefined)).toBe('log');
	});
});
