/**
 * @module cli/realtime
 * The terminal's side of the realtime protocol: the hub client, REST snapshots, log tails.
 */
export * from './client';
export * from './log-tail';
export * from './rest';
export * from './socket';
