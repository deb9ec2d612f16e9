/**
 * @module downloads/thread-priority
 * A read thread's downloads are bulk work: on a machine with fewer free cores than threads, the
 * event loop's thread (live events, pages, the health check) should get the CPU first. Linux
 * schedules each thread on its own nice value, so a thread can lower only its own priority;
 * elsewhere, or where that is not allowed, the thread keeps the default.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much nicer than the event loop's thread a read thread runs: it yields the CPU to it. */
export const READ_THREAD_NICENESS = 10;

/** The highest nice value (the lowest priority) Linux knows. */
const LOWEST = 19;

/**
 * Lowers the calling thread's priority by `by` nice steps from the process's (never raises it,
 * whatever the privileges); whether it could.
 */
export function lowerThreadPriority(by = READ_THREAD_NICENESS): boolean {
	try {
		// `<pid>/task/<tid>`: the kernel's id of this thread
		const tid = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1];
		if (!tid) return false;
		const own = getPriority(Number(tid));
		const nice = Math.min(LOWEST, Math.max(own, getPriority(process.pid) + by));
		if (nice !== own) setPriority(Number(tid), nice);
		return true;
	} catch {
		return false;
	}
}
