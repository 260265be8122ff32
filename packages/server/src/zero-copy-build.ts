import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildResult, buildNative, compilerCommand, nativeBuildMain } from '@scaleup/core/io';
import { execa } from 'execa';

export { type BuildResult, compilerCommand };

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The C source of the zero-copy addon and where the built addon goes (gitignored). */
export const ZERO_COPY_SOURCE = join(PACKAGE_DIR, 'native', 'zerocopy.c');
export const ZERO_COPY_ADDON = join(PACKAGE_DIR, 'build', 'zerocopy.node');

/**
 * Node-API headers from the node-api-headers package rather than from the Node installation:
 * Debian's nodejs, nvm and tarball installs put them in different places or leave them out, and
 * Node-API is ABI-stable, so any recent header set builds an addon every Node >= 18 loads.
 */
export function nodeApiIncludeDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('node-api-headers/package.json')), 'include');
}

/**
 * The compiler's argument array; `output` is a temporary path renamed into place afterwards.
 * `source` is another copy of zerocopy.c (the one a bundle carries to a host that builds it).
 */
export function compilerArgs(
  output: string,
  includeDir: string,
  source: string = ZERO_COPY_SOURCE,
): string[] {
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
    source,
  ];
}

/** Compiles the addon unless an addon newer than its source exists (see `buildNative`). */
export function buildZeroCopyAddon(options: { force?: boolean } = {}): Promise<BuildResult> {
  return buildNative({
    source: ZERO_COPY_SOURCE,
    output: ZERO_COPY_ADDON,
    compile: (compiler, temporary) =>
      execa(compiler, compilerArgs(temporary, nodeApiIncludeDir()), { stdin: 'ignore' }),
    what: 'the zero-copy addon',
    install: 'gcc libc6-dev',
    ...(options.force === undefined ? {} : { force: options.force }),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await nativeBuildMain(process.argv.slice(2), {
    command: 'build:native',
    name: 'zero-copy addon',
    usage:
      'usage: pnpm build:native [--force]\n\n' +
      "Compiles the server's zero-copy send addon (native/zerocopy.c -> build/zerocopy.node) with\n" +
      '$CC or cc. Without it the server sends every response with write(); see docs/performance.md.\n',
    build: (force) => buildZeroCopyAddon({ force }),
  });
}
