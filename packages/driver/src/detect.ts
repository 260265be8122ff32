import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { execa } from 'execa';

/** The first executable called `name` on PATH, or null. */
export async function whichOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = `${dir}/${name}`;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** stdout and stderr of a short version probe, whatever its exit code (wrk -v exits 1). */
export async function probeOutput(file: string, args: string[]): Promise<string> {
  const result = await execa(file, args, { reject: false, timeout: 5000, stdin: 'ignore' });
  return `${result.stdout}\n${result.stderr}`;
}
