/**
 * Which entries of a host's bundle cache (~/.cache/scaleup/) go: one directory per harness
 * version accumulates there otherwise. The rule is written once, as the text of a plain
 * JavaScript function, because the host's bare `node -e` installer (ship.ts) runs it there and
 * the tests run the very same text here.
 */

/** A bundle directory is kept while it is among this many most recently used... */
export const CACHE_KEEP_NEWEST = 3;
/** ...or was used within this many days (each run touches the one it uses). */
export const CACHE_MAX_AGE_DAYS = 14;
/** A `<hash>.tmp-PID` of a dead installer older than this is debris (an install takes seconds). */
export const CACHE_TMP_GRACE_MS = 3_600_000;

export interface CacheEntry {
  /** The name in the cache root: `<sha256>`, `<sha256>.tmp-PID`, or anything else (never pruned). */
  name: string;
  /** The directory's mtime: for a bundle, when a run last used it. */
  mtimeMs: number;
  /** For a `.tmp-PID`: whether that PID is alive on the host. */
  live?: boolean;
}

/**
 * (entries, keep, nowMs) => names to remove. `keep`: what is being installed or used now, never
 * removed. A bundle goes only when it is both older than the age limit and beyond the newest
 * few; a temporary directory only when its installer is gone and it is older than the grace;
 * everything else in the root (native/, the harness's own bundles/) is not the rule's business.
 */
export const PRUNE_RULE_JS = `(entries,keep,now)=>{const HASH=/^[0-9a-f]{64}$/,TMP=/^[0-9a-f]{64}\\.tmp-\\d+$/;
const newest=new Set(entries.filter(e=>HASH.test(e.name)).sort((a,b)=>b.mtimeMs-a.mtimeMs).slice(0,${CACHE_KEEP_NEWEST}).map(e=>e.name));
return entries.filter(e=>{if(keep.includes(e.name))return false;
if(HASH.test(e.name))return !newest.has(e.name)&&now-e.mtimeMs>${CACHE_MAX_AGE_DAYS * 86_400_000};
return TMP.test(e.name)&&e.live!==true&&now-e.mtimeMs>${CACHE_TMP_GRACE_MS}}).map(e=>e.name)}`;

type PruneRule = (entries: readonly CacheEntry[], keep: readonly string[], nowMs: number) => string[];

// The text above made a function here: what the tests check is what the hosts run.
const rule = new Function(`return ${PRUNE_RULE_JS}`)() as PruneRule;

/** The names among `entries` that pruning removes, given what is in use now. Pure. */
export function cacheEntriesToPrune(
  entries: readonly CacheEntry[],
  keep: readonly string[],
  nowMs: number,
): string[] {
  return rule(entries, keep, nowMs);
}

/** What a host's cache holds, and what pruning removed (install) or would remove (probe). */
export interface CacheUsage {
  /** Bundle directories in it. */
  bundles: number;
  /** Every byte under the cache root (bundles, native builds). */
  bytes: number;
  /** Removed this time by an install; by a probe, what the next run's install would remove. */
  pruned: { entries: number; bytes: number };
}
