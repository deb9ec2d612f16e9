import { describe, expect, it } from 'vitest';
import { parseWorkflowCommand } from './workflow-commands';

describe('parseWorkflowCommand', () => {
	it('reads progress with a message', () => {
		expect(parseWorkflowCommand('::progress value=45::Compiling sources')).toEqual({
			kind: 'progress',
			value: 45,
			message: 'Compiling sources'
		});
	});

	it('reads progress without a message as a null message', () => {
		expect(parseWorkflowCommand('::progress value=7.5::')).toEqual({
			kind: 'progress',
			value: 7.5,
			message: null
		});
	});

	it('clamps progress to 0–100', () => {
		expect(parseWorkflowCommand('::progress value=150::x')).toMatchObject({ value: 100 });
		expect(parseWorkflowCommand('::progress value=-3::x')).toMatchObject({ value: 0 });
	});

	it('ignores a progress line without a usable value', () => {
		expect(parseWorkflowCommand('::progress value=abc::x')).toBeNull();
		expect(parseWorkflowCommand('::progress::x')).toBeNull();
	});

	it('keeps colons in the message', () => {
		expect(parseWorkflowCommand('::progress value=10::step 1: fetch http://x')).toMatchObject({
			message: 'step 1: fetch http://x'
		});
	});

	it('reads group, endgroup, error, warning and add-mask', () => {
		expect(parseWorkflowCommand('::group::Install deps')).toEqual({ kind: 'group', title: 'Install deps' });
		expect(parseWorkflowCommand('::endgroup::')).toEqual({ kind: 'endgroup' });
		expect(parseWorkflowCommand('::error file=app.js,line=10::Missing semicolon')).toEqual({
			kind: 'error',
			message: 'Missing semicolon',
			params: { file: 'app.js', line: '10' }
		});
		expect(parseWorkflowCommand('::warning::Deprecated')).toEqual({
			kind: 'warning',
			message: 'Deprecated',
			params: {}
		});
		expect(parseWorkflowCommand('::add-mask::s3cr3t')).toEqual({ kind: 'add-mask', value: 's3cr3t' });
	});

	it('unescapes %0A, %0D and %25 in messages and %3A and %2C in parameters', () => {
		expect(parseWorkflowCommand('::error title=a%3Ab%2Cc::line1%0Aline2 100%25')).toEqual({
			kind: 'error',
			message: 'line1\nline2 100%',
			params: { title: 'a:b,c' }
		});
	});

	it('returns null for ordinary output and unknown commands', () => {
		expect(parseWorkflowCommand('hello world')).toBeNull();
		expect(parseWorkflowCommand('std::vector<int> v;')).toBeNull();
		expect(parseWorkflowCommand('::set-output name=x::1')).toBeNull();
		expect(parseWorkflowCommand('say ::progress value=5::not at the start')).toBeNull();
	});

	it('allows leading whitespace before a command', () => {
		expect(parseWorkflowCommand('  ::progress value=5::indented')).toMatchObject({ value: 5 });
	});
});
