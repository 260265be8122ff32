import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { REPO_DIR } from '@scaleup/bench';
import { destinationProblem, quoted, UsageError } from '@scaleup/core';

/**
 * The checks of `pnpm bench` that need no host and no tool, made before the run directory
 * exists: a refused run leaves nothing behind (no empty results/<stamp>/, `latest` untouched).
 */

/** Where runs go unless --out says otherwise: results/ of the checkout, or $SCALEUP_RESULTS_DIR. */
export function resultsRoot(): string {
  const root = process.env.SCALEUP_RESULTS_DIR;
  return root === undefined || root === '' ? join(REPO_DIR, 'results') : resolve(root);
}

/** Every host the run would reach over ssh, from the command line, the profile or the suite. */
export function checkDestinations(remote: { loadHosts: readonly string[]; serverHost: string | null }): void {
  const named = [
    ...remote.loadHosts.map((host) => ['load host', host] as const),
    ...(remote.serverHost === null ? [] : [['server host', remote.serverHost] as const]),
  ];
  for (const [role, host] of named) {
    const problem = destinationProblem(host);
    if (problem !== null)
      throw new UsageError(`${role} ${quoted(host)} is not an ssh destination: ${problem}`);
  }
}

/** --out must be a directory, or a path where one can be made: not a file, nor under one. */
export async function checkOutDir(out: string): Promise<void> {
  try {
    const stats = await stat(out);
    if (!stats.isDirectory()) throw new UsageError(`--out ${quoted(out)} exists and is not a directory`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`--out ${quoted(out)} lies under a file, not a directory`);
    if (code !== 'ENOENT') throw error;
  }
}

/**
 * After a run failed: a run directory it made that holds no results.json saw nothing start
 * (results.json is written before the first server), so it goes, and `latest` stays where it
 * was. Returns whether it went.
 */
export async function discardIfNothingRan(runDir: string, error: unknown): Promise<boolean> {
  if (!(error instanceof UsageError) && existsSync(join(runDir, 'results.json'))) return false;
  await rm(runDir, { recursive: true, force: true });
  return true;
}
