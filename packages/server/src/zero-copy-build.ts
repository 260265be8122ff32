import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The C source of the zero-copy addon and where the built addon goes (gitignored). */
export const ZERO_COPY_SOURCE = join(PACKAGE_DIR, 'native', 'zerocopy.c');
export const ZERO_COPY_ADDON = join(PACKAGE_DIR, 'build', 'zerocopy.node');

/** The compiler to use: $CC when set, like make and node-gyp. */
export function compilerCommand(env: NodeJS.ProcessEnv = process.env): string {
  const cc = env.CC?.trim();
  return cc === undefined || cc === '' ? 'cc' : cc;
}

/**
 * Node-API headers from the node-api-headers package rather than from the Node installation:
 * Debian's nodejs, nvm and tarball installs put them in different places or leave them out, and
 * Node-API is ABI-stable, so any recent header set builds an addon every Node >= 18 loads.
 */
export function nodeApiIncludeDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('node-api-headers/package.json')), 'include');
}

/** The compiler's argument array; `output` is a temporary path renamed into place afterwards. */
export function compilerArgs(output: string, includeDir: string): string[] {
  return [
    '-O2',
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-shared',
    '-fPIC',
    `-I${includeDir}`,
    '-o',
    output,
    ZERO_COPY_SOURCE,
  ];
}

export interface BuildResult {
  path: string;
  /** False when an up-to-date addon was already there. */
  built: boolean;
  seconds: number;
}

async function mtimeMs(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * Compiles the addon unless an addon newer than its source exists. The result is renamed into
 * place, so servers starting meanwhile (or two test projects building at once) never load half a
 * file. Throws with the compiler's own message when it fails.
 */
export async function buildZeroCopyAddon(options: { force?: boolean } = {}): Promise<BuildResult> {
  const started = performance.now();
  const [addonTime, sourceTime] = await Promise.all([mtimeMs(ZERO_COPY_ADDON), mtimeMs(ZERO_COPY_SOURCE)]);
  if (!options.force && addonTime !== null && sourceTime !== null && addonTime >= sourceTime) {
    return { path: ZERO_COPY_ADDON, built: false, seconds: 0 };
  }
  await mkdir(dirname(ZERO_COPY_ADDON), { recursive: true });
  const temporary = `${ZERO_COPY_ADDON}.${process.pid}.tmp`;
  const compiler = compilerCommand();
  try {
    await execa(compiler, compilerArgs(temporary, nodeApiIncludeDir()), { stdin: 'ignore' });
    await rename(temporary, ZERO_COPY_ADDON);
  } catch (error) {
    await rm(temporary, { force: true });
    const detail =
      (error as { code?: string }).code === 'ENOENT'
        ? `no C compiler '${compiler}' (apt-get install gcc libc6-dev)`
        : ((error as { stderr?: string }).stderr?.trim() || (error as Error).message).split('\n')[0];
    throw new Error(`cannot build the zero-copy addon: ${detail}`);
  }
  return { path: ZERO_COPY_ADDON, built: true, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: pnpm build:native [--force]\n\n' +
        "Compiles the server's zero-copy send addon (native/zerocopy.c -> build/zerocopy.node) with\n" +
        '$CC or cc. Without it the server sends every response with write(); see docs/performance.md.\n',
    );
    return;
  }
  const unknown = args.filter((a) => a !== '--force');
  if (unknown.length > 0) {
    process.stderr.write(`build:native: unknown argument '${unknown[0]}' (try --help)\n`);
    process.exit(2);
  }
  try {
    const result = await buildZeroCopyAddon({ force: args.includes('--force') });
    process.stdout.write(
      result.built
        ? `zero-copy addon built: ${result.path} (${result.seconds.toFixed(1)} s)\n`
        : `zero-copy addon up to date: ${result.path}\n`,
    );
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
