import { mkdir, rename, symlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** `20261126-130410-myhost`: sorts by time, says where it ran, safe in a path. */
export function runDirectoryName(date: Date, host = hostname()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}-${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
  const safeHost = host.replace(/[^A-Za-z0-9.-]/g, '_') || 'host';
  return `${stamp}-${safeHost}`;
}

/** Creates a run directory under `resultsRoot` that no other run uses. */
export async function createRunDirectory(resultsRoot: string, date: Date): Promise<string> {
  await mkdir(resultsRoot, { recursive: true });
  const base = runDirectoryName(date);
  for (let attempt = 0; ; attempt++) {
    const dir = join(resultsRoot, attempt === 0 ? base : `${base}-${attempt + 1}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw error;
    }
  }
}

/** Points `<resultsRoot>/latest` at `runDir`, replacing the old link atomically. */
export async function updateLatestLink(runDir: string): Promise<void> {
  const root = dirname(runDir);
  const temp = join(root, `.latest.${process.pid}.tmp`);
  await symlink(basename(runDir), temp);
  await rename(temp, join(root, 'latest'));
}
