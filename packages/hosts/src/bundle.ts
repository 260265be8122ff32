import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR } from './protocol.ts';

/**
 * The remote side of a run as plain .mjs files a host's own `node` (20+) runs with no
 * node_modules: the CLI subset other hosts execute (load, server, nginx), the server's worker
 * entry, the group leader and the files those find next to themselves by `import.meta.url`.
 */
export const BUNDLE_CLI = 'scaleup.mjs';
export const BUNDLE_LEADER = 'group-leader.mjs';
export const BUNDLE_WORKER = 'worker-main.mjs';
/** The server's native addon: shipped only to hosts whose arch and C library match this one. */
export const BUNDLE_ADDON = 'zerocopy.node';

/** Sources in the checkout, relative to its root. */
const SOURCES = {
  cli: 'packages/cli/src/remote-bin.ts',
  worker: 'packages/server/src/worker-main.ts',
  leader: 'packages/hosts/src/group-leader.mjs',
  wrkSummary: 'packages/driver/src/adapters/wrk-summary.lua',
  addon: 'packages/server/build/zerocopy.node',
} as const;

export interface BundleFile {
  name: string;
  sha256: string;
  bytes: number;
  /** Native code: only for a host whose platform matches `Bundle.platform`. */
  native: boolean;
}

export interface Bundle {
  /** The local directory holding the files, keyed by `hash`. */
  dir: string;
  /** sha256 over the names and hashes of the portable files (the addon excluded). */
  hash: string;
  files: BundleFile[];
  /** This machine's `arch-libc` (e.g. `x64-glibc`), which a host must match to get the addon. */
  platform: string;
}

/** What a host receives: the bundle, with or without the addon; keyed by its own hash. */
export interface Shipment {
  hash: string;
  files: BundleFile[];
  withAddon: boolean;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A set of files as one hash: order-independent, and a renamed file changes it. */
export function setHash(files: readonly Pick<BundleFile, 'name' | 'sha256'>[]): string {
  const lines = files.map((f) => `${f.sha256}  ${f.name}\n`).sort();
  return sha256(lines.join(''));
}

/** `x64-glibc`, `arm64-musl`: what decides whether a native addon built here loads there. */
export function localPlatform(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return `${process.arch}-${report?.header?.glibcVersionRuntime === undefined ? 'musl' : 'glibc'}`;
}

export function defaultBundleCache(): string {
  const xdg = process.env.XDG_CACHE_HOME?.trim();
  return join(xdg ? xdg : join(homedir(), '.cache'), 'scaleup', 'bundles');
}

// Each module's "run me as a script" check compares its own import.meta.url with argv[1]; in a
// bundle every module shares the bundle's URL, so the checks of modules merely imported (the
// native build helpers) would all fire. Inside the bundle none of them is the script.
const RUN_AS_MAIN = /import\.meta\.url === pathToFileURL\(process\.argv\[1\]\)\.href/g;

async function esbuildOutputs(repoDir: string): Promise<Map<string, Uint8Array>> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: repoDir,
    entryPoints: [
      { in: join(repoDir, SOURCES.cli), out: BUNDLE_CLI.replace(/\.mjs$/, '') },
      { in: join(repoDir, SOURCES.worker), out: BUNDLE_WORKER.replace(/\.mjs$/, '') },
    ],
    outExtension: { '.js': '.mjs' },
    outdir: '/bundle',
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    // CommonJS dependencies call require(); ESM output has none of its own.
    banner: {
      js: "import{createRequire as __scaleupRequire}from'node:module';const require=__scaleupRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'scaleup-not-main',
        setup(build) {
          build.onLoad({ filter: /packages\/[^/]+\/src\/.*\.ts$/ }, async (args) => ({
            contents: (await readFile(args.path, 'utf8')).replace(RUN_AS_MAIN, 'false'),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  return new Map(result.outputFiles.map((f) => [f.path.replace(/^\/bundle\//, ''), f.contents]));
}

/**
 * Builds the bundle from this checkout into `cacheDir/<hash>/` (nothing is rewritten when that
 * directory is already complete). The addon goes in when it has been built here.
 */
export async function buildBundle(options: { repoDir?: string; cacheDir?: string } = {}): Promise<Bundle> {
  const repoDir = options.repoDir ?? REPO_DIR;
  const contents = await esbuildOutputs(repoDir);
  contents.set(BUNDLE_LEADER, readFileSync(join(repoDir, SOURCES.leader)));
  contents.set('wrk-summary.lua', readFileSync(join(repoDir, SOURCES.wrkSummary)));
  const addonPath = join(repoDir, SOURCES.addon);
  if (existsSync(addonPath)) contents.set(BUNDLE_ADDON, readFileSync(addonPath));
  const files = [...contents].map(
    ([name, data]): BundleFile => ({
      name,
      sha256: sha256(data),
      bytes: data.byteLength,
      native: name === BUNDLE_ADDON,
    }),
  );
  const hash = setHash(files.filter((f) => !f.native));
  const dir = join(options.cacheDir ?? defaultBundleCache(), hash);
  await storeOnce(dir, files, contents);
  return { dir, hash, files, platform: localPlatform() };
}

/** Writes into a temporary sibling and renames it into place, so a half-written dir never counts. */
async function storeOnce(dir: string, files: BundleFile[], contents: Map<string, Uint8Array>): Promise<void> {
  const complete = files.every((f) => {
    try {
      return sha256(readFileSync(join(dir, f.name))) === f.sha256;
    } catch {
      return false;
    }
  });
  if (complete) return;
  const temp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(temp, { recursive: true });
  for (const f of files) await writeFile(join(temp, f.name), contents.get(f.name)!);
  await rm(dir, { recursive: true, force: true });
  await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
    // Another run stored the same content first.
    await rm(temp, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
}

/** What a host with `platform` gets: the addon only when its arch and C library match ours. */
export function shipmentFor(bundle: Bundle, platform: string | null): Shipment {
  const withAddon = platform === bundle.platform && bundle.files.some((f) => f.native);
  const files = bundle.files.filter((f) => withAddon || !f.native);
  return { hash: setHash(files), files, withAddon };
}
