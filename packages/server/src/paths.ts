import { sep } from 'node:path';

export type TargetPath =
  | {
      ok: true;
      /** Decoded path segments, none of them empty, '.', '..' or containing '/', '\\' or NUL. */
      segments: string[];
      /** The request path ended with '/', so it names a directory. */
      directory: boolean;
    }
  | { ok: false; status: 400 | 403 | 404; why: string };

const PERCENT_SYNTAX = /%(?![0-9A-Fa-f]{2})/;

/** The path part of an origin-form or absolute-form request target, still percent-encoded. */
export function targetPathPart(target: string): string | undefined {
  let path = target;
  if (path.charCodeAt(0) !== 47) {
    const scheme = /^https?:\/\/[^/?#]*/i.exec(path);
    if (scheme === null) return undefined;
    path = path.slice(scheme[0].length);
    if (path === '' || path.charCodeAt(0) === 63) path = `/${path}`;
  }
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

/**
 * Turns a request target into safe segments under the served root. Each segment is decoded exactly
 * once, so `%252e%252e` stays the literal name `%2e%2e`; a `..`, an encoded slash or backslash and
 * a NUL are refused (403) rather than normalised away, since no honest client sends them.
 */
export function resolveTargetPath(target: string): TargetPath {
  const path = targetPathPart(target);
  if (path === undefined) return { ok: false, status: 400, why: 'request target is not a path' };
  if (PERCENT_SYNTAX.test(path)) return { ok: false, status: 400, why: 'bad percent-encoding' };
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '' || raw === '.') continue;
    let segment = raw;
    if (raw.includes('%')) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        // Valid escapes but not UTF-8 (e.g. overlong `%c0%ae`): no file here can have that name.
        return { ok: false, status: 404, why: 'path is not UTF-8' };
      }
    }
    if (segment === '..') return { ok: false, status: 403, why: 'path traversal' };
    if (segment === '.') continue;
    if (segment.includes('/') || segment.includes('\\') || segment.includes('\0')) {
      return { ok: false, status: 403, why: 'forbidden character in path' };
    }
    segments.push(segment);
  }
  return { ok: true, segments, directory: path.endsWith('/') };
}

/** Whether `real` (a realpath) is `root` (a realpath) or lies beneath it. */
export function isInsideRoot(root: string, real: string): boolean {
  if (real === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return real.startsWith(prefix);
}

/** A Location for a directory redirect, rebuilt from the decoded segments so it cannot leave the site. */
export function directoryLocation(segments: readonly string[]): string {
  // Never '//': that would be a protocol-relative URL pointing at another host.
  if (segments.length === 0) return '/';
  return `/${segments.map((s) => encodeURIComponent(s)).join('/')}/`;
}
