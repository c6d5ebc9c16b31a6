#!/usr/bin/env node
// Entry point for `npx openelb-ts`: loads tsx so the TypeScript sources run as they are (no build step).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
