/**
 * @module app-root
 * Where aco's own files lie (package.json, the app's `build/`, the shipped `workflows/`), from
 * the TypeScript sources and from the JavaScript bundles in `dist/` alike, wherever the package
 * is installed.
 */
import { fileURLToPath } from 'node:url';

// replaced with `true` by scripts/bundle.mjs; undeclared (so `typeof` is "undefined") elsewhere
declare const __ACO_BUNDLED__: boolean | undefined;

/** whether this code runs from the bundles in dist/ (every chunk sits directly in dist/) */
export const BUNDLED = typeof __ACO_BUNDLED__ === 'boolean' && __ACO_BUNDLED__;

/** the package's root folder, absolute */
export const APP_ROOT = fileURLToPath(new URL(BUNDLED ? '..' : '../../..', import.meta.url));
