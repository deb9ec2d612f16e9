/**
 * @module tests/helpers/processes
 * Whether a process a test started (or its command started) still runs.
 */
import fs from 'node:fs';

/** true while a process with this id runs; a zombie no init has reaped yet counts as ended */
export function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch {
		return false;
	}
	try {
		// "pid (name) S …": the state follows the name
		return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
	} catch {
		return true;
	}
}
