import { afterAll } from 'vitest';
import { removeTempDirs } from './fixtures/files.ts';

// Every test file's temporary run directories go when the file is done, pass or fail.
afterAll(removeTempDirs);
