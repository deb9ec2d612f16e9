import { describe, expect, it, vi } from 'vitest';
import type { IngestEventsResponse } from '../../lib/protocol/ingest';
import { ProducerControl } from './control';

function control() {
	const onCancel = vi.fn();
	const onEnded = vi.fn();
	const http = { request: vi.fn() };
	return { onCancel, onEnded, control: new ProducerControl({ http, taskId: () => null, onCancel, onEnded }) };
}

const answer = (status: string, extra: Partial<IngestEventsResponse> = {}) =>
	({
		task: { status, error: status === 'failed' ? 'lost contact with its producer' : null },
		...extra
	}) as never;

describe('ProducerControl', () => {
	it('tells once that the server ended the task itself, and not for a task still running', () => {
		const { control: c, onEnded, onCancel } = control();
		c.observe(answer('running'));
		expect(onEnded).not.toHaveBeenCalled();
		c.observe(answer('failed'));
		c.observe(answer('failed'));
		expect(onEnded).toHaveBeenCalledTimes(1);
		expect(onEnded).toHaveBeenCalledWith('failed', 'lost contact with its producer');
		expect(onCancel).not.toHaveBeenCalled();
	});

	it('stops the command on a cancel, which is not an end of its own', () => {
		const { control: c, onEnded, onCancel } = control();
		c.observe(answer('running', { cancel_requested: true }));
		c.observe(answer('cancelled'));
		expect(onCancel).toHaveBeenCalledTimes(1);
		expect(onEnded).not.toHaveBeenCalled();
	});

	it('hears nothing once stopped: the answers to its own end are not news', () => {
		const { control: c, onEnded } = control();
		c.stop();
		c.observe(answer('succeeded'));
		expect(onEnded).not.toHaveBeenCalled();
	});
});
