/**
 * @module cli/realtime
 * The terminal's side of the realtime protocol: the hub client, REST snapshots (asked for again
 * while the server fails), log tails.
 */
export * from './client';
export * from './log-tail';
export * from './rest';
export * from './rest-retry';
export * from './socket';
