/** What identifies one version of a file's content, from a bigint stat. */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function stampOf(stat: {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}): FileStamp {
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return (
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.dev === b.dev
  );
}

/**
 * A strong ETag. The inode is part of it so that a file atomically replaced by one of the same
 * size and modification time still gets a new tag.
 */
export function makeEtag(stamp: Pick<FileStamp, 'ino' | 'size' | 'mtimeNs'>): string {
  return `"${stamp.mtimeNs.toString(36)}-${stamp.size.toString(36)}-${stamp.ino.toString(36)}"`;
}

/** If-None-Match uses the weak comparison: `W/` prefixes are ignored on both sides. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const value = ifNoneMatch.trim();
  if (value === '*') return true;
  const plain = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const part of value.split(',')) {
    let tag = part.trim();
    if (tag.startsWith('W/')) tag = tag.slice(2);
    if (tag === plain) return true;
  }
  return false;
}

/**
 * RFC 9110 section 13.2.2 order for GET/HEAD: If-None-Match decides when present; only without it
 * does If-Modified-Since count. True means answer 304 Not Modified.
 */
export function isNotModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  etag: string,
  mtimeMs: number,
): boolean {
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, etag);
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    if (Number.isNaN(since)) return false;
    // HTTP dates have whole seconds; the file's sub-second part must not make it look newer.
    return Math.floor(mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}

/**
 * If-Range: the Range applies only when the validator names the current version exactly (strong
 * ETag, or the Last-Modified date string).
 */
export function ifRangeAllows(ifRange: string | undefined, etag: string, lastModified: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  return value === lastModified;
}
