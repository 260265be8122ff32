import { supportsReusePort } from './options.ts';
import { loadNativeAddon, missingFunction, nativeAddonPath } from './zero-copy.ts';

/**
 * What native/zerocopy.c exports for `--accept reuseport`. Unlike the send functions, these run
 * only at startup and throw Errors whose `code` is the errno name (EADDRINUSE, ...).
 */
export interface ReusePortAddon {
  /** A bound TCP socket that never listens; `reusePort` sets SO_REUSEPORT. Returns its fd. */
  bindSocket(host: string, port: number, reusePort: boolean): number;
  /** A listening SO_REUSEPORT socket (non-blocking, close-on-exec) for net.Server.listen({ fd }). */
  listenReusePort(host: string, port: number, backlog: number): number;
  /** The local port a socket is bound to. */
  socketPort(fd: number): number;
  closeFd(fd: number): number;
}

export type ReusePortLoad = { addon: ReusePortAddon; note: null } | { addon: null; note: string };

const FUNCTIONS = ['bindSocket', 'listenReusePort', 'socketPort', 'closeFd'] as const;

export function loadReusePort(path: string = nativeAddonPath()): ReusePortLoad {
  const raw = loadNativeAddon(path);
  if (raw.module === null) {
    const why =
      raw.problem === 'platform'
        ? `needs Linux (this is ${process.platform})`
        : raw.problem === 'missing'
          ? `is not built (no ${path})`
          : `failed to load (${raw.detail})`;
    return { addon: null, note: `the native addon ${why}` };
  }
  const missing = missingFunction(raw.module, FUNCTIONS);
  if (missing !== null) {
    return {
      addon: null,
      note: `the native addon at ${path} has no ${missing} (rebuild: pnpm build:native)`,
    };
  }
  return { addon: raw.module as unknown as ReusePortAddon, note: null };
}

/**
 * How `--accept reuseport` opens its sockets here:
 * - `addon`: each worker opens its own SO_REUSEPORT socket through the native addon and hands the
 *   fd to net.Server.listen({ fd }); the master reserves the port with a bound socket that never
 *   listens (any Node).
 * - `net`: the addon is missing but this Node has net's own `reusePort` (>= 22.12 / 23.1).
 * - a string: why it cannot work, as one line.
 */
export function reusePortPlan(
  load: ReusePortLoad,
  nodeVersion: string = process.versions.node,
  platform: NodeJS.Platform = process.platform,
): 'addon' | 'net' | { refusal: string } {
  if (platform !== 'linux') {
    return {
      refusal: `--accept reuseport needs Linux's SO_REUSEPORT load balancing (this is ${platform}); use --accept shared`,
    };
  }
  if (load.addon !== null) return 'addon';
  if (supportsReusePort(nodeVersion)) return 'net';
  return {
    refusal:
      `--accept reuseport on Node ${nodeVersion} opens its sockets through the native addon, but ${load.note}; ` +
      'run pnpm build:native, or use --accept shared',
  };
}
