import { readFileSync } from 'node:fs';
import type { LoadToolName } from '@scaleup/core';

/** A golden fixture's text. */
export function fixture(tool: LoadToolName, name: string): string {
  return readFileSync(new URL(`./fixtures/${tool}/${name}`, import.meta.url), 'utf8');
}
