import { constants, type FSWatcher, watch } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { httpDate } from './clock.ts';
import type { RequestHead } from './http-parser.ts';
import { mimeTypeFor } from './mime.ts';
import { directoryLocation, isInsideRoot, resolveTargetPath, targetPathPart } from './paths.ts';
import { parseRange } from './ranges.ts';
import type { Reply, Resource } from './resource.ts';
import { buildResponse, CachedResponse, type ConnectionVariant, errorResponse } from './responses.ts';
import { type FileStamp, ifRangeAllows, isNotModified, makeEtag, sameStamp, stampOf } from './validators.ts';

export interface FileResourceOptions {
  /** The directory served; nothing outside it (after symlinks) is ever read. */
  root: string;
  /** Files up to this size are served from memory; bigger ones are streamed from disk. */
  maxCachedFileBytes?: number;
  /** Memory the cache may hold in total; the oldest entries go first. */
  maxCacheBytes?: number;
  maxEntries?: number;
  /** How often every cached entry is re-stat'ed, in case inotify missed a change. */
  revalidateMs?: number;
}

interface Entry {
  /** The request path (before '?') this entry answers. */
  key: string;
  /** The path that is re-stat'ed to notice changes: symlinks followed, index.html appended. */
  lookupPath: string;
  dir: string;
  name: string;
  realPath: string;
  stamp: FileStamp;
  size: number;
  mtimeMs: number;
  etag: string;
  lastModified: string;
  /** Content-Type, Last-Modified, ETag and Accept-Ranges lines. */
  headers: string;
  /** The content, or null for a file too large to keep, streamed per request. */
  body: Buffer | null;
  full: CachedResponse | null;
}

type LoadResult = Entry | { redirect: string } | number;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

function statusForFsError(error: unknown): number {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM' ? 403 : 404;
}

/**
 * A static file server over one directory that answers from memory. Each request path maps to a
 * cache entry holding the file's bytes, validators and ready-made responses; a miss is loaded
 * asynchronously (never a synchronous fs call on a request). Entries are dropped when inotify
 * reports a change in their directory, and a periodic async re-stat of every entry catches what
 * inotify misses (a symlink retargeted elsewhere, a parent directory replaced), so a change is
 * served within one revalidation period.
 */
export class FileResource implements Resource {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<LoadResult>>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly maxCachedFileBytes: number;
  private readonly maxCacheBytes: number;
  private readonly maxEntries: number;
  private readonly timer: NodeJS.Timeout;
  /** Bumped by every invalidation; a load that saw another epoch begin is served but not kept. */
  private epoch = 0;
  private cachedBytes = 0;
  private revalidating = false;
  private closed = false;

  private constructor(
    readonly root: string,
    options: FileResourceOptions,
  ) {
    this.maxCachedFileBytes = options.maxCachedFileBytes ?? 16 * 1024 * 1024;
    this.maxCacheBytes = options.maxCacheBytes ?? 256 * 1024 * 1024;
    this.maxEntries = options.maxEntries ?? 4096;
    this.timer = setInterval(() => void this.revalidate(), options.revalidateMs ?? 40);
    this.timer.unref();
  }

  static async create(options: FileResourceOptions): Promise<FileResource> {
    const root = await realpath(options.root);
    if (!(await stat(root)).isDirectory()) throw new Error(`${options.root} is not a directory`);
    return new FileResource(root, options);
  }

  respond(req: RequestHead, variant: ConnectionVariant, headOnly: boolean): Reply | Promise<Reply> {
    const target = req.target;
    let key: string | undefined = target;
    if (target.charCodeAt(0) === 47) {
      const query = target.indexOf('?');
      if (query !== -1) key = target.slice(0, query);
    } else {
      key = targetPathPart(target);
      if (key === undefined) return errorResponse(400, variant, headOnly);
    }
    const entry = this.entries.get(key);
    if (entry !== undefined) return this.reply(entry, req, variant, headOnly);
    return this.load(key).then((result) => {
      if (typeof result === 'number') return errorResponse(result, variant, headOnly);
      if ('redirect' in result) {
        const body = Buffer.from(`301 Moved Permanently: ${result.redirect}\n`, 'latin1');
        return buildResponse(
          301,
          `Location: ${result.redirect}\r\nContent-Type: text/plain\r\n`,
          body.length,
          headOnly ? null : body,
          variant,
        );
      }
      return this.reply(result, req, variant, headOnly);
    });
  }

  private reply(entry: Entry, req: RequestHead, variant: ConnectionVariant, headOnly: boolean): Reply {
    if (req.ifNoneMatch === undefined && req.ifModifiedSince === undefined && req.range === undefined) {
      if (entry.full !== null) return entry.full.get(variant, headOnly);
      return this.stream(entry, 200, entry.headers, 0, entry.size - 1, variant, headOnly);
    }
    if (isNotModified(req.ifNoneMatch, req.ifModifiedSince, entry.etag, entry.mtimeMs)) {
      return buildResponse(
        304,
        `Last-Modified: ${entry.lastModified}\r\nETag: ${entry.etag}\r\n`,
        entry.size,
        null,
        variant,
      );
    }
    // RFC 9110: Range is only for GET; HEAD describes the whole representation.
    if (req.range !== undefined && !headOnly && ifRangeAllows(req.ifRange, entry.etag, entry.lastModified)) {
      const range = parseRange(req.range, entry.size);
      if (range.kind === 'unsatisfiable') {
        return buildResponse(416, `Content-Range: bytes */${entry.size}\r\n`, 0, null, variant);
      }
      if (range.kind === 'partial') {
        const headers = `${entry.headers}Content-Range: bytes ${range.start}-${range.end}/${entry.size}\r\n`;
        if (entry.body === null)
          return this.stream(entry, 206, headers, range.start, range.end, variant, false);
        const body = entry.body.subarray(range.start, range.end + 1);
        return buildResponse(206, headers, body.length, body, variant);
      }
    }
    if (entry.full !== null) return entry.full.get(variant, headOnly);
    return this.stream(entry, 200, entry.headers, 0, entry.size - 1, variant, headOnly);
  }

  private stream(
    entry: Entry,
    status: number,
    headers: string,
    start: number,
    end: number,
    variant: ConnectionVariant,
    headOnly: boolean,
  ): Reply {
    const head = buildResponse(status, headers, end - start + 1, null, variant);
    if (headOnly || end < start) return head;
    return { head, path: entry.realPath, start, end };
  }

  /** Loads a path once however many requests wait for it. */
  private load(key: string): Promise<LoadResult> {
    let pending = this.loading.get(key);
    if (pending === undefined) {
      pending = this.loadUncached(key).catch(() => 500);
      this.loading.set(key, pending);
      const settled = pending;
      void settled.then(() => {
        if (this.loading.get(key) === settled) this.loading.delete(key);
      });
    }
    return pending;
  }

  private async loadUncached(key: string): Promise<LoadResult> {
    const epoch = this.epoch;
    const target = resolveTargetPath(key);
    if (!target.ok) return target.status;
    let lookupPath = join(this.root, ...target.segments);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(lookupPath);
      if (info.isDirectory()) {
        if (!target.directory) return { redirect: directoryLocation(target.segments) };
        lookupPath = join(lookupPath, 'index.html');
        info = await stat(lookupPath);
      } else if (target.directory) {
        return 404;
      }
    } catch (error) {
      return statusForFsError(error);
    }
    if (!info.isFile()) return 404;

    let realPath: string;
    try {
      realPath = await realpath(lookupPath);
    } catch (error) {
      return statusForFsError(error);
    }
    if (!isInsideRoot(this.root, realPath)) return 403;

    let handle: FileHandle;
    try {
      // O_NOFOLLOW: the last component must not have become a symlink since realpath looked.
      handle = await open(realPath, OPEN_FLAGS);
    } catch (error) {
      return statusForFsError(error);
    }
    let entry: Entry;
    try {
      const fileStat = await handle.stat({ bigint: true });
      if (!fileStat.isFile()) return 404;
      const stamp = stampOf(fileStat);
      let size = Number(fileStat.size);
      let body: Buffer | null = null;
      if (size <= this.maxCachedFileBytes) {
        body = Buffer.allocUnsafe(size);
        let offset = 0;
        while (offset < size) {
          const { bytesRead } = await handle.read(body, offset, size - offset, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
        }
        // A file that shrank while read: serve what is there; its new stamp will evict this entry.
        if (offset < size) {
          body = body.subarray(0, offset);
          size = offset;
        }
      }
      const mtimeMs = Number(fileStat.mtimeNs / 1_000_000n);
      const etag = makeEtag(stamp);
      const lastModified = httpDate(mtimeMs);
      const headers =
        `Content-Type: ${mimeTypeFor(realPath)}\r\nLast-Modified: ${lastModified}\r\n` +
        `ETag: ${etag}\r\nAccept-Ranges: bytes\r\n`;
      entry = {
        key,
        lookupPath,
        dir: dirname(lookupPath),
        name: basename(lookupPath),
        realPath,
        stamp,
        size,
        mtimeMs,
        etag,
        lastModified,
        headers,
        body,
        full: body === null ? null : new CachedResponse(200, headers, body),
      };
    } finally {
      await handle.close();
    }
    if (epoch === this.epoch && !this.closed) this.insert(entry);
    return entry;
  }

  private insert(entry: Entry): void {
    const bytes = entry.body?.length ?? 0;
    if (bytes > this.maxCacheBytes) return;
    this.remove(entry.key);
    while (
      this.entries.size > 0 &&
      (this.entries.size >= this.maxEntries || this.cachedBytes + bytes > this.maxCacheBytes)
    ) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
    }
    this.entries.set(entry.key, entry);
    this.cachedBytes += bytes;
    this.watchDirectory(entry.dir);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.cachedBytes -= entry.body?.length ?? 0;
  }

  /** Drops every entry that could have changed; the next request reloads it. */
  private invalidate(predicate: (entry: Entry) => boolean): void {
    this.epoch++;
    for (const entry of [...this.entries.values()]) if (predicate(entry)) this.remove(entry.key);
  }

  private watchDirectory(dir: string): void {
    if (this.watchers.has(dir) || this.watchers.size >= 256) return;
    try {
      const watcher = watch(dir, { persistent: false }, (_event, filename) => {
        const name = filename === null ? null : String(filename);
        this.invalidate((e) => e.dir === dir && (name === null || e.name === name));
      });
      // Periodic revalidation still covers this directory when the watch breaks.
      watcher.on('error', () => {
        watcher.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, watcher);
    } catch {
      // inotify limits reached: revalidation alone keeps entries fresh.
    }
  }

  private async revalidate(): Promise<void> {
    if (this.revalidating || this.entries.size === 0) return;
    this.revalidating = true;
    try {
      const entries = [...this.entries.values()];
      const stale = await Promise.all(
        entries.map(async (entry) => {
          try {
            return !sameStamp(entry.stamp, stampOf(await stat(entry.lookupPath, { bigint: true })));
          } catch {
            return true;
          }
        }),
      );
      // Only the entries that were checked: one reloaded meanwhile is already fresh.
      const staleEntries = new Set(entries.filter((_, i) => stale[i]));
      if (staleEntries.size > 0) this.invalidate((e) => staleEntries.has(e));
    } finally {
      this.revalidating = false;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.entries.clear();
    this.cachedBytes = 0;
  }
}
