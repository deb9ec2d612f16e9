/**
 * @module downloads/thread-priority
 * A read thread's downloads are bulk work: on a machine with fewer free cores than threads, the
 * event loop's thread (live events, pages, the health check) should get the CPU first. Linux
 * schedules each thread on its own nice value, so a thread can lower only its own priority;
 * elsewhere, or where that is not allowed, the thread keeps the default.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value of a read thread: it yields the CPU to the event loop's thread (nice 0). */
export const READ_THREAD_NICE = 10;

/** Lowers the calling thread's priority to `nice`; whether it could. */
export function lowerThreadPriority(nice = READ_THREAD_NICE): boolean {
	try {
		// `<pid>/task/<tid>`: the kernel's id of this thread
		const tid = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1];
		if (!tid) return false;
		setPriority(Number(tid), nice);
		return true;
	} catch {
		return false;
	}
}
