import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The compiler to use: $CC when set, like make and node-gyp. */
export function compilerCommand(env: NodeJS.ProcessEnv = process.env): string {
  const cc = env.CC?.trim();
  return cc === undefined || cc === '' ? 'cc' : cc;
}

export interface BuildResult {
  path: string;
  /** False when an output newer than its source was already there. */
  built: boolean;
  seconds: number;
}

export interface NativeBuild {
  source: string;
  output: string;
  /** Runs the compiler so that it writes `temporary`; rejects with execa's error when it fails. */
  compile: (compiler: string, temporary: string) => Promise<unknown>;
  /** What is built, for the error line ("the zero-copy addon"). */
  what: string;
  /** The packages that bring a compiler and the headers this build needs. */
  install: string;
  force?: boolean;
}

async function mtimeMs(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

/** The compiler's own error line (gcc first prints where it was: "In function ..."). */
function compilerError(text: string): string {
  const lines = text.split('\n');
  return (lines.find((l) => /\berror\b/.test(l)) ?? lines[0] ?? '').trim();
}

/**
 * Compiles one C source unless an output newer than it exists. The result is renamed into
 * place, so a process starting meanwhile (or two test projects building at once) never loads
 * or runs half a file. Throws one line with the compiler's own error when it fails.
 */
export async function buildNative(build: NativeBuild): Promise<BuildResult> {
  const started = performance.now();
  const [outputTime, sourceTime] = await Promise.all([mtimeMs(build.output), mtimeMs(build.source)]);
  if (!build.force && outputTime !== null && sourceTime !== null && outputTime >= sourceTime) {
    return { path: build.output, built: false, seconds: 0 };
  }
  await mkdir(dirname(build.output), { recursive: true });
  const temporary = `${build.output}.${process.pid}.tmp`;
  const compiler = compilerCommand();
  try {
    await build.compile(compiler, temporary);
    await rename(temporary, build.output);
  } catch (error) {
    await rm(temporary, { force: true });
    const detail =
      (error as { code?: string }).code === 'ENOENT'
        ? `no C compiler '${compiler}' (apt-get install ${build.install})`
        : compilerError((error as { stderr?: string }).stderr?.trim() || (error as Error).message);
    throw new Error(`cannot build ${build.what}: ${detail}`);
  }
  return { path: build.output, built: true, seconds: (performance.now() - started) / 1000 };
}

/**
 * The command-line face shared by the build scripts: --help, --force, one line and exit 2 for
 * anything else, exit 1 when the build fails.
 */
export async function nativeBuildMain(
  argv: string[],
  options: { command: string; usage: string; name: string; build: (force: boolean) => Promise<BuildResult> },
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(options.usage);
    return;
  }
  const unknown = argv.filter((a) => a !== '--force');
  if (unknown.length > 0) {
    process.stderr.write(`${options.command}: unknown argument '${unknown[0]}' (try --help)\n`);
    process.exit(2);
  }
  try {
    const result = await options.build(argv.includes('--force'));
    process.stdout.write(
      result.built
        ? `${options.name} built: ${result.path} (${result.seconds.toFixed(1)} s)\n`
        : `${options.name} up to date: ${result.path}\n`,
    );
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
