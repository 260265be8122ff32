import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The C source of the constant-rate load tool and where the built binary goes (gitignored). */
export const OPENLOOP_SOURCE = join(PACKAGE_DIR, 'native', 'openloop.c');
export const OPENLOOP_BINARY = join(PACKAGE_DIR, 'build', 'openloop');

/** The compiler to use: $CC when set, like make. */
export function compilerCommand(env: NodeJS.ProcessEnv = process.env): string {
  const cc = env.CC?.trim();
  return cc === undefined || cc === '' ? 'cc' : cc;
}

/**
 * The compiler's argument array; `output` is a temporary path renamed into place afterwards.
 * `extra` goes before the source (e.g. `-fsanitize=address` for a checked build).
 */
export function compilerArgs(output: string, extra: readonly string[] = []): string[] {
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
    OPENLOOP_SOURCE,
    '-lz',
    '-lm',
  ];
}

/** The compiler's own error line (gcc prints where it was first: "In function ..."). */
function compilerError(text: string): string {
  const lines = text.split('\n');
  return (lines.find((l) => /\berror\b/.test(l)) ?? lines[0] ?? '').trim();
}

export interface BuildResult {
  path: string;
  /** False when an up-to-date binary was already there. */
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
 * Compiles openloop unless a binary newer than its source exists. The result is renamed into
 * place, so a run starting meanwhile (or two test projects building at once) never executes half
 * a file. Throws with the compiler's own first line when it fails.
 */
export async function buildOpenloop(
  options: { force?: boolean; output?: string; extra?: readonly string[] } = {},
): Promise<BuildResult> {
  const started = performance.now();
  const output = options.output ?? OPENLOOP_BINARY;
  const [binaryTime, sourceTime] = await Promise.all([mtimeMs(output), mtimeMs(OPENLOOP_SOURCE)]);
  if (!options.force && binaryTime !== null && sourceTime !== null && binaryTime >= sourceTime) {
    return { path: output, built: false, seconds: 0 };
  }
  await mkdir(dirname(output), { recursive: true });
  const temporary = `${output}.${process.pid}.tmp`;
  const compiler = compilerCommand();
  try {
    await execa(compiler, compilerArgs(temporary, options.extra), { stdin: 'ignore' });
    await rename(temporary, output);
  } catch (error) {
    await rm(temporary, { force: true });
    const detail =
      (error as { code?: string }).code === 'ENOENT'
        ? `no C compiler '${compiler}' (apt-get install gcc libc6-dev zlib1g-dev)`
        : compilerError((error as { stderr?: string }).stderr?.trim() || (error as Error).message);
    throw new Error(`cannot build openloop: ${detail}`);
  }
  return { path: output, built: true, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: pnpm build:openloop [--force]\n\n' +
        "Compiles the driver's constant-rate load tool (native/openloop.c -> build/openloop) with\n" +
        '$CC or cc (needs zlib1g-dev). `scaleup load --rate R` runs it.\n',
    );
    return;
  }
  const unknown = args.filter((a) => a !== '--force');
  if (unknown.length > 0) {
    process.stderr.write(`build:openloop: unknown argument '${unknown[0]}' (try --help)\n`);
    process.exit(2);
  }
  try {
    const result = await buildOpenloop({ force: args.includes('--force') });
    process.stdout.write(
      result.built
        ? `openloop built: ${result.path} (${result.seconds.toFixed(1)} s)\n`
        : `openloop up to date: ${result.path}\n`,
    );
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
