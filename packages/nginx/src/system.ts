import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

/** Hard RLIMIT_NOFILE of this process (what nginx started from here may raise its limit to). */
export async function readNofileHardLimit(): Promise<number | undefined> {
  try {
    const limits = await readFile('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+\S+\s+(\S+)/m.exec(limits);
    if (match?.[1] === undefined || match[1] === 'unlimited') return undefined;
    return Number(match[1]);
  } catch {
    return undefined;
  }
}

/** net.core.somaxconn: the kernel silently caps every listen backlog at this. */
export async function readSomaxconn(): Promise<number | undefined> {
  try {
    return Number((await readFile('/proc/sys/net/core/somaxconn', 'utf8')).trim());
  } catch {
    return undefined;
  }
}

function parseDatabase(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

/**
 * The account nginx workers switch to when the master runs as root: Debian's www-data, else the
 * traditional nobody. The group is the account's primary group, by name.
 */
export async function defaultWorkerUser(
  passwdPath = '/etc/passwd',
  groupPath = '/etc/group',
): Promise<{ name: string; group: string }> {
  let passwd: string[][] = [];
  let groups: string[][] = [];
  try {
    passwd = parseDatabase(await readFile(passwdPath, 'utf8'));
    groups = parseDatabase(await readFile(groupPath, 'utf8'));
  } catch {
    // Without the databases nginx's own default is the best guess.
  }
  for (const name of ['www-data', 'nobody']) {
    const entry = passwd.find((fields) => fields[0] === name);
    if (entry === undefined) continue;
    const group = groups.find((fields) => fields[2] === entry[3])?.[0];
    if (group !== undefined) return { name, group };
  }
  return { name: 'nobody', group: 'nogroup' };
}

/**
 * Backlogs of the sockets listening on `port`, as `ss -ltn` shows them (Send-Q of a listening
 * socket). One entry per socket: with reuseport each nginx worker has its own.
 */
export async function listenBacklogs(port: number): Promise<number[]> {
  const result = await execa('ss', ['-ltnH', `sport = :${port}`], { reject: false, timeout: 5000 });
  if (result.exitCode !== 0) throw new Error(`ss -ltn failed: ${result.stderr || result.shortMessage}`);
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[0] === 'LISTEN' && fields[2] !== undefined)
    .map((fields) => Number(fields[2]));
}

/** Last `lines` lines of a text file, or '' when it does not exist. */
export async function tailFile(path: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Compares dotted versions numerically: "1.22.1" >= "1.19.5". */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const b = minimum.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
