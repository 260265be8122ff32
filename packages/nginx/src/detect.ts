import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

export const NGINX_INSTALL_HINT =
  'install nginx: on Debian/Ubuntu `apt-get install nginx-light` (or `nginx`), elsewhere the nginx package of your system';

/** Where distributions put nginx; /usr/sbin is often missing from an ordinary user's PATH. */
const WELL_KNOWN_PATHS = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

export interface NginxFound {
  ok: true;
  path: string;
  /** e.g. "1.22.1" */
  version: string;
  /** `configure arguments:` of `nginx -V`, one argument per entry, quotes removed. */
  buildOptions: string[];
  /** The whole `nginx -V` text, for a report's appendix. */
  versionText: string;
}

export interface NginxMissing {
  ok: false;
  /** Why nginx cannot be used, fit for a "skipped because" line. */
  reason: string;
  installHint: string;
}

export type NginxDetection = NginxFound | NginxMissing;

/** "nginx version: nginx/1.22.1" → "1.22.1"; null when the text has no version line. */
export function parseNginxVersion(text: string): string | null {
  return /nginx version: [^/\s]+\/(\S+)/.exec(text)?.[1] ?? null;
}

/** Splits the `configure arguments:` line the way a POSIX shell would (single and double quotes). */
export function parseBuildOptions(text: string): string[] {
  const line = /^configure arguments:(.*)$/m.exec(text)?.[1];
  if (line === undefined) return [];
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let quote: "'" | '"' | null = null;
  for (const char of line) {
    if (quote !== null) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inArg = true;
    } else if (/\s/.test(char)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += char;
      inArg = true;
    }
  }
  if (inArg) args.push(current);
  return args;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** PATH first (a user's own build wins), then the places distributions use. */
export async function findNginxBinary(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const fromPath = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'nginx'));
  for (const candidate of [...fromPath, ...WELL_KNOWN_PATHS]) {
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * Finds nginx and asks it for its version and build. Never throws: a missing or broken nginx is an
 * answer with a reason, so the benchmark harness can skip nginx scenarios and record why.
 */
export async function detectNginx(options: { path?: string | undefined } = {}): Promise<NginxDetection> {
  const path = options.path ?? (await findNginxBinary());
  if (path === null) {
    return {
      ok: false,
      reason: `nginx not found on PATH or in ${WELL_KNOWN_PATHS.join(', ')}`,
      installHint: NGINX_INSTALL_HINT,
    };
  }
  if (!(await isExecutable(path))) {
    return { ok: false, reason: `${path} is not an executable file`, installHint: NGINX_INSTALL_HINT };
  }
  // nginx prints -V to stderr.
  const result = await execa(path, ['-V'], { reject: false, timeout: 10_000, all: true });
  const text = result.all ?? '';
  const version = parseNginxVersion(text);
  if (result.exitCode !== 0 || version === null) {
    const why = result.failed ? (result.shortMessage ?? text) : text;
    return {
      ok: false,
      reason: `${path} -V did not report a version: ${why.trim().split('\n')[0] ?? 'no output'}`,
      installHint: NGINX_INSTALL_HINT,
    };
  }
  return { ok: true, path, version, buildOptions: parseBuildOptions(text), versionText: text.trim() };
}
