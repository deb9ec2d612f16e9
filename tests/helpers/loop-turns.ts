/**
 * @module tests/helpers/loop-turns
 * A counter that ticks once per event-loop turn (a chain of `setImmediate`s): two callbacks that
 * read the same `turn` ran without an event-loop turn between them.
 */
export function countLoopTurns(): { readonly turn: number; stop(): void } {
	let turn = 0;
	let ticking = true;
	const tick = () => {
		turn += 1;
		if (ticking) setImmediate(tick);
	};
	tick();
	return {
		get turn() {
			return turn;
		},
		stop() {
			ticking = false;
		}
	};
}
