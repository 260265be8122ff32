import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The master's private root for `--resource file` without `--root` is
 * `<tmpdir>/scaleup-server-<master pid>-XXXXXX`: the pid lets a later start tell a root whose
 * master was SIGKILLed (and could not remove it) from one a live server still serves.
 */
export const TEMP_ROOT_PATTERN = /^scaleup-server-(\d+)-[A-Za-z0-9]{6}$/;

export function makeTempRoot(dir: string = tmpdir(), pid: number = process.pid): string {
  return mkdtempSync(join(dir, `scaleup-server-${pid}-`));
}

/**
 * Whether a pid belongs to a live process: a zombie counts as dead (its master can serve nothing
 * any more). Where /proc is missing, signal 0 decides (EPERM: alive, someone else's).
 */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    let procMounted = false;
    try {
      procMounted = lstatSync('/proc/self/stat').isFile();
    } catch {
      // No /proc.
    }
    if (procMounted) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp roots left by masters that are gone, and returns their paths. Only directories
 * named exactly like makeTempRoot's, owned by this user, whose pid is not a live process (and is
 * not this process) are touched; a symlink of that name is left alone. Never throws: a sweep
 * that fails leaves things as they were.
 */
export function sweepStaleTempRoots(
  dir: string = tmpdir(),
  alive: (pid: number) => boolean = pidAlive,
): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_ROOT_PATTERN.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    const path = join(dir, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
  return removed;
}
