import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';
import { REPO_DIR } from './protocol.ts';

/**
 * The remote side of a run as plain .mjs files a host's own `node` (20+) runs with no
 * node_modules: the CLI subset other hosts execute (load, server, nginx), the server's worker
 * entry, the group leader, autocannon's child and worker scripts, and the files those find next
 * to themselves by `import.meta.url`; openloop and the server's addon built here for hosts of
 * this platform, and their C sources for the others.
 */
export const BUNDLE_CLI = 'scaleup.mjs';
export const BUNDLE_LEADER = 'group-leader.mjs';
export const BUNDLE_WORKER = 'worker-main.mjs';
/** The server's native addon: shipped only to hosts whose arch and C library match this one. */
export const BUNDLE_ADDON = 'zerocopy.node';
/** The constant-rate load tool, built here: shipped under the same rule as the addon. */
export const BUNDLE_OPENLOOP = 'openloop';
/** Their C sources (and the Node-API headers the addon needs), portable: built on a host that differs. */
export const BUNDLE_OPENLOOP_SOURCE = 'openloop.c';
export const BUNDLE_ADDON_SOURCE = 'zerocopy.c';
export const BUNDLE_ADDON_HEADERS: readonly string[] = [
  'js_native_api.h',
  'js_native_api_types.h',
  'node_api.h',
  'node_api_types.h',
];
const NATIVE_FILES: readonly string[] = [BUNDLE_ADDON, BUNDLE_OPENLOOP];

/** Sources in the checkout, relative to its root. */
const SOURCES = {
  cli: 'packages/cli/src/remote-bin.ts',
  worker: 'packages/server/src/worker-main.ts',
  leader: 'packages/hosts/src/group-leader.mjs',
  wrkSummary: 'packages/driver/src/adapters/wrk-summary.lua',
  autocannonChild: 'packages/driver/src/adapters/autocannon-child.mjs',
  autocannonVerifyBody: 'packages/driver/src/adapters/autocannon-verify-body.cjs',
  addon: 'packages/server/build/zerocopy.node',
  addonSource: 'packages/server/native/zerocopy.c',
  openloop: 'packages/driver/build/openloop',
  openloopSource: 'packages/driver/native/openloop.c',
} as const;

export interface BundleFile {
  name: string;
  sha256: string;
  bytes: number;
  /** Native code built here: only for a host whose platform matches `Bundle.platform`. */
  native: boolean;
}

export interface Bundle {
  /** The local directory holding the files, keyed by `hash`. */
  dir: string;
  /** sha256 over the names and hashes of the portable files (the native builds excluded). */
  hash: string;
  files: BundleFile[];
  /** This machine's `arch-libc` (e.g. `x64-glibc`), which a host must match to get the native files. */
  platform: string;
  /** The autocannon bundled (its worker threads' script too), as its package.json says. */
  autocannonVersion: string;
}

/** What a host receives: the bundle, with or without the native files; keyed by its own hash. */
export interface Shipment {
  hash: string;
  files: BundleFile[];
  withAddon: boolean;
  withOpenloop: boolean;
}

/**
 * `auto`: native files go to a host of this machine's platform, others build them from the
 * shipped sources. `build`: every host builds them (SCALEUP_BUNDLE_NATIVE=build), which is how
 * the build-on-host path is exercised from a machine whose hosts all match it.
 */
export type NativeMode = 'auto' | 'build';
export const NATIVE_MODE_ENV = 'SCALEUP_BUNDLE_NATIVE';

/** The mode $SCALEUP_BUNDLE_NATIVE asks for; throws one line for a value it does not know. */
export function nativeModeFromEnv(env: NodeJS.ProcessEnv = process.env): NativeMode {
  const value = env[NATIVE_MODE_ENV]?.trim() ?? '';
  if (value === '' || value === 'auto') return 'auto';
  if (value === 'build') return 'build';
  throw new Error(`${NATIVE_MODE_ENV} must be 'auto' or 'build', not ${JSON.stringify(value)}`);
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

// autocannon's version is read from its package.json through a require() of our own making,
// which esbuild cannot follow; in the bundle it is the version bundled, written in.
const AUTOCANNON_PACKAGE = /require\('autocannon\/package\.json'\)/g;

/** Loads our sources with the rewrites above (a .ts or the autocannon child's .mjs). */
function scaleupSources(autocannonVersion: string): Plugin {
  const version = `({ version: ${JSON.stringify(autocannonVersion)} })`;
  return {
    name: 'scaleup-sources',
    setup(build) {
      build.onLoad({ filter: /packages\/[^/]+\/src\/.*\.(ts|mjs)$/ }, async (args) => ({
        contents: (await readFile(args.path, 'utf8'))
          .replace(RUN_AS_MAIN, 'false')
          .replace(AUTOCANNON_PACKAGE, version),
        loader: args.path.endsWith('.ts') ? 'ts' : 'js',
      }));
    },
  };
}

// CommonJS dependencies call require(); ESM output has none of its own. autocannon's manager
// starts its worker threads from __dirname/worker.js: the bundle's directory.
const REQUIRE_BANNER =
  "import{createRequire as __scaleupRequire}from'node:module';const require=__scaleupRequire(import.meta.url);";
const DIRNAME_BANNER =
  "import{fileURLToPath as __scaleupPath}from'node:url';const __dirname=__scaleupPath(new URL('.',import.meta.url));";

async function esbuildOutputs(
  repoDir: string,
): Promise<{ contents: Map<string, Uint8Array>; autocannonVersion: string }> {
  const esbuild = await import('esbuild');
  const driverRequire = createRequire(join(repoDir, 'packages/driver/package.json'));
  const autocannonVersion = (driverRequire('autocannon/package.json') as { version: string }).version;
  const common = {
    absWorkingDir: repoDir,
    outdir: '/bundle',
    bundle: true,
    write: false as const,
    platform: 'node' as const,
    target: 'node20',
    minify: true,
    legalComments: 'none' as const,
    logLevel: 'silent' as const,
    plugins: [scaleupSources(autocannonVersion)],
  };
  const esm = { ...common, format: 'esm' as const, outExtension: { '.js': '.mjs' } };
  const results = await Promise.all([
    esbuild.build({
      ...esm,
      entryPoints: [
        { in: join(repoDir, SOURCES.cli), out: BUNDLE_CLI.replace(/\.mjs$/, '') },
        { in: join(repoDir, SOURCES.worker), out: BUNDLE_WORKER.replace(/\.mjs$/, '') },
      ],
      banner: { js: REQUIRE_BANNER },
    }),
    // autocannon, which the driver runs in a child node of its own, and its worker thread's script.
    esbuild.build({
      ...esm,
      entryPoints: [{ in: join(repoDir, SOURCES.autocannonChild), out: 'autocannon-child' }],
      banner: { js: REQUIRE_BANNER + DIRNAME_BANNER },
    }),
    esbuild.build({
      ...common,
      format: 'cjs' as const,
      entryPoints: [{ in: driverRequire.resolve('autocannon/lib/worker.js'), out: 'worker' }],
    }),
  ]);
  const contents = new Map(
    results.flatMap((r) =>
      r.outputFiles.map((f) => [f.path.replace(/^\/bundle\//, ''), f.contents] as const),
    ),
  );
  return { contents, autocannonVersion };
}

/**
 * Builds the bundle from this checkout into `cacheDir/<hash>/` (nothing is rewritten when that
 * directory is already complete). The addon goes in when it has been built here.
 */
export async function buildBundle(options: { repoDir?: string; cacheDir?: string } = {}): Promise<Bundle> {
  const repoDir = options.repoDir ?? REPO_DIR;
  const { contents, autocannonVersion } = await esbuildOutputs(repoDir);
  contents.set(BUNDLE_LEADER, readFileSync(join(repoDir, SOURCES.leader)));
  contents.set('wrk-summary.lua', readFileSync(join(repoDir, SOURCES.wrkSummary)));
  contents.set('autocannon-verify-body.cjs', readFileSync(join(repoDir, SOURCES.autocannonVerifyBody)));
  // autocannon's worker.js is CommonJS, whatever a package.json above the host's cache says.
  contents.set('package.json', new TextEncoder().encode('{ "type": "commonjs" }\n'));
  addNativeFiles(repoDir, contents);
  const files = [...contents].map(
    ([name, data]): BundleFile => ({
      name,
      sha256: sha256(data),
      bytes: data.byteLength,
      native: NATIVE_FILES.includes(name),
    }),
  );
  const hash = setHash(files.filter((f) => !f.native));
  const dir = join(options.cacheDir ?? defaultBundleCache(), hash);
  await storeOnce(dir, files, contents);
  return { dir, hash, files, platform: localPlatform(), autocannonVersion };
}

/**
 * The native builds made here (when they were) and what a host of another platform needs to
 * build them itself: the C sources, and the Node-API headers from the package the server's own
 * build uses (a host's Node installation may lack them).
 */
function addNativeFiles(repoDir: string, contents: Map<string, Uint8Array>): void {
  contents.set(BUNDLE_OPENLOOP_SOURCE, readFileSync(join(repoDir, SOURCES.openloopSource)));
  contents.set(BUNDLE_ADDON_SOURCE, readFileSync(join(repoDir, SOURCES.addonSource)));
  const serverRequire = createRequire(join(repoDir, 'packages/server/package.json'));
  const headers = join(dirname(serverRequire.resolve('node-api-headers/package.json')), 'include');
  for (const name of BUNDLE_ADDON_HEADERS) contents.set(name, readFileSync(join(headers, name)));
  for (const [name, path] of [
    [BUNDLE_ADDON, SOURCES.addon],
    [BUNDLE_OPENLOOP, SOURCES.openloop],
  ] as const) {
    if (existsSync(join(repoDir, path))) contents.set(name, readFileSync(join(repoDir, path)));
  }
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

/**
 * What a host with `platform` gets: the native files only when its arch and C library match
 * ours (and the mode does not ask every host to build them).
 */
export function shipmentFor(bundle: Bundle, platform: string | null, mode: NativeMode = 'auto'): Shipment {
  const native = mode === 'auto' && platform === bundle.platform;
  const files = bundle.files.filter((f) => native || !f.native);
  return {
    hash: setHash(files),
    files,
    withAddon: files.some((f) => f.name === BUNDLE_ADDON),
    withOpenloop: files.some((f) => f.name === BUNDLE_OPENLOOP),
  };
}
