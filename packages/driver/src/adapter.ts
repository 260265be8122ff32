import {
  formatIssues,
  type LoadResult,
  LoadResultSchema,
  type LoadSpec,
  type LoadToolName,
} from '@scaleup/core';
import { finishResult, type ParsedRun, type ParseOptions, unreadableRun } from './result.ts';

export type Detection =
  | { found: true; version: string; path: string }
  | { found: false; reason: string; install: string };

/** What the runner spawns: a file and its arguments, plus environment the tool needs. */
export interface ToolCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
}

/**
 * One load tool. Adding a tool means writing one of these and its fixtures; the runner, the CLI
 * and the result rules do not change.
 */
export interface LoadToolAdapter {
  readonly name: LoadToolName;
  /** Whether the tool can run here, and its version; never throws. */
  detect(): Promise<Detection>;
  /** Why this tool cannot run `spec` (one line each), empty when it can. */
  refuse(spec: LoadSpec): string[];
  /** The tool's own arguments for `spec`, without the binary. */
  buildArgs(spec: LoadSpec): string[];
  /** How to start the tool for `spec`; `binary` is the path detect() found. */
  command(spec: LoadSpec, binary: string): ToolCommand;
  /** Reads a finished (or killed) run's output. Pure: no I/O, same input, same result. */
  parse(stdout: string, stderr: string, exitCode?: number | null, options?: ParseOptions): LoadResult;
}

/** How a tool's own output reads, before the rules every tool shares (result.ts) apply. */
export type RunReader = (
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
  options: ParseOptions,
) => ParsedRun;

/**
 * An adapter's parse(): the tool's own reading, then the shared rules. Output can come from
 * another machine or a tool killed mid-line: a reading that throws or yields a value the results
 * schema refuses (NaN, a negative count, a string where a number goes) becomes an unreadable run
 * saying why, so one odd capture never loses the whole results file.
 */
export function parseWith(tool: LoadToolName, readRun: RunReader): LoadToolAdapter['parse'] {
  return (stdout, stderr, exitCode, options = {}) => {
    let result: LoadResult;
    try {
      result = finishResult(readRun(stdout, stderr, exitCode, options), options);
    } catch (error) {
      return unreadable(tool, options, `cannot read ${tool} output: ${(error as Error).message}`);
    }
    const checked = LoadResultSchema.safeParse(result);
    if (checked.success) return result;
    const [first = ''] = formatIssues(checked.error.issues);
    return unreadable(tool, options, `${tool} output holds a value no run can have (${first})`);
  };
}

function unreadable(tool: LoadToolName, options: ParseOptions, why: string): LoadResult {
  return finishResult(unreadableRun(tool, options.toolVersion ?? '', why), options);
}

/** command() of a tool that runs as its own binary with exactly buildArgs' arguments. */
export function binaryCommand(
  this: Pick<LoadToolAdapter, 'buildArgs'>,
  spec: LoadSpec,
  binary: string,
): ToolCommand {
  return { file: binary, args: this.buildArgs(spec) };
}
