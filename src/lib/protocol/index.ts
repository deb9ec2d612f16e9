/**
 * @module protocol
 * The one module server and browser share: models, events, messages, close codes, limits.
 */
export * from './models';
export * from './events';
export * from './messages';
export * from './close-codes';
export * from './limits';
export * from './filter';
export * from './api';
export * from './ingest';
export * from './system';
export * from './auth';
export * from './connect-subscriptions';
