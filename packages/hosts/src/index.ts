export {
  BUNDLE_ADDON,
  BUNDLE_ADDON_HEADERS,
  BUNDLE_ADDON_SOURCE,
  BUNDLE_CLI,
  BUNDLE_LEADER,
  BUNDLE_OPENLOOP,
  BUNDLE_OPENLOOP_SOURCE,
  type Bundle,
  type BundleFile,
  buildBundle,
  defaultBundleCache,
  localPlatform,
  NATIVE_MODE_ENV,
  type NativeMode,
  nativeModeFromEnv,
  type Shipment,
  shipmentFor,
} from './bundle.ts';
export {
  CACHE_KEEP_NEWEST,
  CACHE_MAX_AGE_DAYS,
  CACHE_TMP_GRACE_MS,
  type CacheEntry,
  type CacheUsage,
  cacheEntriesToPrune,
} from './cache-prune.ts';
export { distributionFamily, type InstallAdvice, installAdvice } from './install-lines.ts';
export { localHost } from './local.ts';
export { type NativeJob, type NativeOnHost, nativeBuildPath, nativeOnHost } from './native-host.ts';
export { type PreflightNeeds, type PreflightReport, preflightHost } from './preflight.ts';
export { LEADER_IN_CHECKOUT, LEADER_PATH } from './protocol.ts';
export { remoteCommandLine, shellQuote } from './quote.ts';
export {
  type BundleProbe,
  type InstalledBundle,
  installBundle,
  openRunDir,
  probeBundle,
  type RunDir,
} from './ship.ts';
export { signalOn } from './signal.ts';
export { type SshHost, type SshHostOptions, sshHost } from './ssh.ts';
export { within } from './time.ts';
export type {
  ExecOptions,
  ExecResult,
  Host,
  HostFacts,
  HostProcess,
  Lines,
  ProcessExit,
  ShellOptions,
  SpawnOptions,
} from './types.ts';
