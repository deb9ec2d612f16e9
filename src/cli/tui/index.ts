/**
 * @module cli/tui
 * The terminal dashboard's entry points: `aco watch` and `aco server --tui`.
 */
export { startTui, watch, type StartTuiOptions, type TuiHandle, type WatchOptions } from './watch';
