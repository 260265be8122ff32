import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { type FoldedStack, parseFolded, type ResultsFile } from '@scaleup/core';

/**
 * The folded stacks a run's results.json names (`profile.folded`, relative to the results
 * directory). A results directory is untrusted input: a path must stay inside it (symbolic links
 * resolved), a file is read up to a bound, and anything wrong is a one-line problem the reports
 * print where the flame graph would be, never an exception.
 */

/** Far above a real profile (a 10 s capture folds to a few MB), far below a memory problem. */
export const FOLDED_MAX_BYTES = 32 * 1024 * 1024;
/** Distinct stacks in one file: a real capture has thousands. */
export const FOLDED_MAX_STACKS = 200_000;

export type LoadedProfile = { stacks: FoldedStack[]; problem: null } | { stacks: null; problem: string };

/** Per result id: its folded stacks, or why they could not be read. */
export type ProfileFiles = ReadonlyMap<string, LoadedProfile>;

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

async function readBounded(path: string, max: number): Promise<string> {
  // O_NOFOLLOW on the last component and one handle for check and read: the file cannot be
  // swapped between them.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > max) throw new Error(`${info.size} bytes, more than the ${max} a profile may have`);
    const buffer = Buffer.alloc(Math.min(info.size, max) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > max) throw new Error(`more than the ${max} bytes a profile may have`);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function checkStacks(stacks: FoldedStack[]): void {
  if (stacks.length > FOLDED_MAX_STACKS) {
    throw new Error(`${stacks.length} stacks, more than the ${FOLDED_MAX_STACKS} a profile may have`);
  }
  if (stacks.length === 0) throw new Error('no samples');
  for (const stack of stacks) {
    if (!Number.isSafeInteger(stack.samples))
      throw new Error(`a sample count out of range (${stack.samples})`);
  }
}

/** One folded file named by results.json, read inside `dir` with the checks above. */
export async function readFoldedFile(
  dir: string,
  name: string,
  maxBytes = FOLDED_MAX_BYTES,
): Promise<LoadedProfile> {
  const problem = (why: string): LoadedProfile => ({ stacks: null, problem: `${name}: ${why}` });
  if (isAbsolute(name) || name.includes('\0')) return problem('not a path inside the results directory');
  let root: string;
  try {
    root = await realpath(dir);
  } catch {
    return problem('the results directory cannot be read');
  }
  const path = resolve(root, name);
  if (!inside(root, path)) return problem('not a path inside the results directory');
  try {
    // Symbolic links in the directories on the way must not lead out either.
    const real = await realpath(path);
    if (!inside(root, real)) return problem('leads outside the results directory');
    const stacks = parseFolded(await readBounded(real, maxBytes));
    checkStacks(stacks);
    return { stacks, problem: null };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return problem('missing');
    if (code === 'ELOOP') return problem('a symbolic link, not read');
    return problem(code ?? (error as Error).message);
  }
}

/** Every profile the results name, read from the results directory `dir`. */
export async function readProfiles(results: ResultsFile, dir: string): Promise<ProfileFiles> {
  const loaded = new Map<string, LoadedProfile>();
  for (const s of results.scenarios) {
    const folded = profileOf(s)?.folded;
    if (typeof folded === 'string') loaded.set(s.id, await readFoldedFile(dir, folded));
  }
  return loaded;
}

/**
 * A result's profile, read defensively: results written before profiles have none, and a
 * field of the wrong shape (a hand-edited file) counts as none.
 */
export function profileOf(s: ResultsFile['scenarios'][number]): ResultsFile['scenarios'][number]['profile'] {
  const profile = (s as { profile?: unknown }).profile;
  if (profile === null || typeof profile !== 'object') return null;
  return profile as ResultsFile['scenarios'][number]['profile'];
}
