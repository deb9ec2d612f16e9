/**
 * @module realtime
 * The browser side of aco's realtime: one connection, the live stores pages read, the toast feed.
 */
export * from './backoff';
export * from './connection.svelte';
export * from './context';
export * from './clock.svelte';
export * from './dashboard.svelte';
export * from './execution-log.svelte';
export * from './task-view.svelte';
export * from './notifications.svelte';
export * from './handle-error';
export * from './toast-feed';
