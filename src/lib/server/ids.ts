/**
 * @module ids
 * Record ids: `<prefix>_<time><seq><random>`. Short, URL-safe and unique across processes; ids
 * made by one process sort in creation order, which the store uses to break `created_at` ties.
 */
import { randomBytes } from 'node:crypto';

export type IdPrefix = 'run' | 'task' | 'exec';

/** base36 milliseconds; 9 digits keep ids fixed-width (and so sortable) until the year 5188 */
const TIME_WIDTH = 9;
/** base36 counter for ids made in the same millisecond */
const SEQ_WIDTH = 2;
const SEQ_LIMIT = 36 ** SEQ_WIDTH;
/** 6 random bytes = 8 base64url characters, so two processes do not collide */
const RANDOM_BYTES = 6;

let lastTime = 0;
let seq = 0;

/**
 * @example newId('task') // 'task_0mcx5k3q900Hq3Zr-9aB'
 */
export function newId(prefix: IdPrefix): string {
	let time = Date.now();
	// a clock that steps back (NTP) must not reorder ids, so time never goes below the last one
	if (time <= lastTime) {
		time = lastTime;
		seq++;
		if (seq >= SEQ_LIMIT) {
			time++;
			seq = 0;
		}
	} else {
		seq = 0;
	}
	lastTime = time;
	return (
		prefix +
		'_' +
		time.toString(36).padStart(TIME_WIDTH, '0') +
		seq.toString(36).padStart(SEQ_WIDTH, '0') +
		randomBytes(RANDOM_BYTES).toString('base64url')
	);
}
