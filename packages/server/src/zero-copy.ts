import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { ZERO_COPY_MIN_BYTES } from '@scaleup/core';
import { clock } from './clock.ts';
import { ZERO_COPY_ADDON } from './zero-copy-build.ts';

/** What native/zerocopy.c exports. Every call returns a negative errno instead of throwing. */
export interface ZeroCopyAddon {
  memfdFrom(bytes: Uint8Array): number;
  sendFile(socketFd: number, fileFd: number, offset: number, length: number): number;
  closeFd(fd: number): number;
}

export type ZeroCopyLoad = { addon: ZeroCopyAddon; note: null } | { addon: null; note: string };

/** Overrides where the native addon is loaded from (tests point it at a missing file). */
export const NATIVE_ADDON_ENV = 'SCALEUP_NATIVE_ADDON';

/** The addon this process loads: $SCALEUP_NATIVE_ADDON when set, else the one `pnpm build:native` makes. */
export function nativeAddonPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[NATIVE_ADDON_ENV]?.trim();
  return override === undefined || override === '' ? ZERO_COPY_ADDON : override;
}

type RawLoad =
  | { module: Record<string, unknown>; problem: null }
  | { module: null; problem: 'platform' | 'missing'; detail: null }
  | { module: null; problem: 'broken'; detail: string };

const rawLoads = new Map<string, RawLoad>();

/**
 * The addon's exports, or why there are none (not Linux, not built, or the loader's first line).
 * Loaded once per path and process.
 */
export function loadNativeAddon(path: string = nativeAddonPath()): RawLoad {
  const known = rawLoads.get(path);
  if (known !== undefined) return known;
  let result: RawLoad;
  if (process.platform !== 'linux') {
    result = { module: null, problem: 'platform', detail: null };
  } else if (!existsSync(path)) {
    result = { module: null, problem: 'missing', detail: null };
  } else {
    try {
      result = { module: createRequire(import.meta.url)(path) as Record<string, unknown>, problem: null };
    } catch (error) {
      result = { module: null, problem: 'broken', detail: (error as Error).message.split('\n')[0] ?? '' };
    }
  }
  rawLoads.set(path, result);
  return result;
}

/** Whether `module` has every one of `names` as a function; the first missing name otherwise. */
export function missingFunction(module: Record<string, unknown>, names: readonly string[]): string | null {
  return names.find((name) => typeof module[name] !== 'function') ?? null;
}

/** Loads the addon once per process; without it the server writes every response (and says why). */
export function loadZeroCopy(path: string = nativeAddonPath()): ZeroCopyLoad {
  const raw = loadNativeAddon(path);
  if (raw.module === null) {
    return {
      addon: null,
      note:
        raw.problem === 'platform'
          ? `zero-copy sends need Linux (this is ${process.platform})`
          : raw.problem === 'missing'
            ? 'zero-copy addon not built (pnpm build:native)'
            : `zero-copy addon failed to load: ${raw.detail}`,
    };
  }
  if (missingFunction(raw.module, ['memfdFrom', 'sendFile', 'closeFd']) !== null) {
    return { addon: null, note: `zero-copy addon at ${path} lacks memfdFrom/sendFile/closeFd` };
  }
  return { addon: raw.module as unknown as ZeroCopyAddon, note: null };
}

/** The socket's file descriptor, or -1 when its handle has none (closed, or not a TCP handle). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

export interface ZeroCopyLimits {
  minBytes: number;
  /** How many responses keep a memfd; the oldest is closed first. */
  maxEntries: number;
  /** Their total size; a single response above a quarter of it is always written instead. */
  maxBytes: number;
  /**
   * A memfd not sent for this long is closed when the next one is made. Prebuilt responses are
   * replaced every second (Date), so old versions would otherwise hold their Buffer and their
   * pages until the caps push them out: up to 64 MiB twice over for large files.
   */
  idleMs: number;
}

export const DEFAULT_ZERO_COPY_LIMITS: ZeroCopyLimits = {
  minBytes: ZERO_COPY_MIN_BYTES,
  maxEntries: 256,
  maxBytes: 64 * 1024 * 1024,
  idleMs: 3000,
};

/**
 * Sends prebuilt responses with sendfile(2) from a private memfd copy of each. A response Buffer
 * is copied into its memfd once, then every send only hands page references to the socket.
 *
 * A memfd is written once and never changed: a response replaced (each second, for the Date
 * header) gets a new memfd, and pages still queued in some socket keep their old bytes. Closing
 * an evicted memfd is safe for the same reason: queued pages hold their own references.
 */
export class ZeroCopySender {
  /** Insertion order is eviction order. */
  private readonly fds = new Map<Uint8Array, { fd: number; lastSentMs: number }>();
  private cachedBytes = 0;
  /** Responses that went out whole through sendfile. */
  responses = 0;

  constructor(
    private readonly addon: ZeroCopyAddon,
    readonly limits: ZeroCopyLimits = DEFAULT_ZERO_COPY_LIMITS,
    /** The worker's coarse clock: a property read per send instead of a Date.now() call. */
    private readonly now: () => number = () => clock.now,
  ) {}

  /** Whether a response of this size goes through sendfile at all. */
  eligible(length: number): boolean {
    return length >= this.limits.minBytes && length <= this.limits.maxBytes / 4;
  }

  /**
   * Sends as much of `response` as the socket takes without blocking: returns the byte count
   * (possibly 0 or short when the socket buffer is full) or a negative errno when nothing was sent.
   */
  send(fd: number, response: Uint8Array): number {
    let entry = this.fds.get(response);
    if (entry === undefined) {
      const file = this.addon.memfdFrom(response);
      if (file < 0) return file;
      entry = { fd: file, lastSentMs: 0 };
      this.remember(response, entry);
    }
    entry.lastSentMs = this.now();
    const sent = this.addon.sendFile(fd, entry.fd, 0, response.length);
    if (sent === response.length) this.responses++;
    return sent;
  }

  /** Memfds currently open (for tests and stats). */
  get openFiles(): number {
    return this.fds.size;
  }

  close(): void {
    for (const entry of this.fds.values()) this.addon.closeFd(entry.fd);
    this.fds.clear();
    this.cachedBytes = 0;
  }

  private remember(response: Uint8Array, entry: { fd: number; lastSentMs: number }): void {
    const idleBefore = this.now() - this.limits.idleMs;
    for (const [old, oldEntry] of this.fds) {
      if (oldEntry.lastSentMs < idleBefore) this.forget(old, oldEntry.fd);
    }
    this.fds.set(response, entry);
    this.cachedBytes += response.length;
    for (const [oldest, oldEntry] of this.fds) {
      if (this.fds.size <= this.limits.maxEntries && this.cachedBytes <= this.limits.maxBytes) break;
      if (oldest === response) break;
      this.forget(oldest, oldEntry.fd);
    }
  }

  private forget(response: Uint8Array, fd: number): void {
    this.fds.delete(response);
    this.cachedBytes -= response.length;
    this.addon.closeFd(fd);
  }
}
