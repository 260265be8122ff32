import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildResult, buildNative, compilerCommand, nativeBuildMain } from '@scaleup/core/io';
import { execa } from 'execa';

export { type BuildResult, compilerCommand };

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The C source of the constant-rate load tool and where the built binary goes (gitignored). */
export const OPENLOOP_SOURCE = join(PACKAGE_DIR, 'native', 'openloop.c');
export const OPENLOOP_BINARY = join(PACKAGE_DIR, 'build', 'openloop');
/** Where a bundle on another host finds openloop: shipped beside it or built in its cache there. */
export const OPENLOOP_ENV = 'SCALEUP_OPENLOOP';

/** The openloop this process runs: $SCALEUP_OPENLOOP when set, else the one `pnpm build:openloop` makes. */
export function openloopBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[OPENLOOP_ENV]?.trim();
  return override === undefined || override === '' ? OPENLOOP_BINARY : override;
}

/**
 * The compiler's argument array; `output` is a temporary path renamed into place afterwards.
 * `extra` goes before the source (e.g. `-fsanitize=address` for a checked build); `source` is
 * another copy of openloop.c (the one a bundle carries to a host that builds it).
 */
export function compilerArgs(
  output: string,
  extra: readonly string[] = [],
  source: string = OPENLOOP_SOURCE,
): string[] {
  return [
    '-O2',
    '-g',
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-pthread',
    ...extra,
    '-o',
    output,
    source,
    '-lz',
    '-lm',
  ];
}

/** Compiles openloop unless a binary newer than its source exists (see `buildNative`). */
export function buildOpenloop(
  options: { force?: boolean; output?: string; extra?: readonly string[] } = {},
): Promise<BuildResult> {
  return buildNative({
    source: OPENLOOP_SOURCE,
    output: options.output ?? OPENLOOP_BINARY,
    compile: (compiler, temporary) =>
      execa(compiler, compilerArgs(temporary, options.extra), { stdin: 'ignore' }),
    what: 'openloop',
    install: 'gcc libc6-dev zlib1g-dev',
    ...(options.force === undefined ? {} : { force: options.force }),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await nativeBuildMain(process.argv.slice(2), {
    command: 'build:openloop',
    name: 'openloop',
    usage:
      'usage: pnpm build:openloop [--force]\n\n' +
      "Compiles the driver's constant-rate load tool (native/openloop.c -> build/openloop) with\n" +
      '$CC or cc (needs zlib1g-dev). `scaleup load --rate R` runs it.\n',
    build: (force) => buildOpenloop({ force }),
  });
}
