#!/usr/bin/env node
// `scaleup` without a package manager in between: one process, so a supervisor's SIGTERM reaches
// it directly. Registers the TypeScript loader in this process, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin.ts');
