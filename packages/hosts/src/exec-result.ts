import type { ExecResult } from './types.ts';

/** An execa result as an ExecResult: a command stopped for its timeout has no exit code. */
export function execResultOf(result: {
  timedOut?: boolean;
  exitCode?: number | undefined;
  stdout?: unknown;
  stderr?: unknown;
}): ExecResult {
  const timedOut = result.timedOut ?? false;
  return {
    exitCode: timedOut ? null : (result.exitCode ?? null),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    timedOut,
  };
}
