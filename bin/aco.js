#!/usr/bin/env node
// The `aco` command. The CLI is TypeScript run in place through tsx's loader (as server.ts is),
// so there is no separate build step for it.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
