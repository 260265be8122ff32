import type { LoadResult, LoadSpec, LoadToolName } from '@scaleup/core';
import { finishResult, type ParsedRun, type ParseOptions } from './result.ts';

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

/** An adapter's parse(): the tool's own reading, then the shared rules. */
export function parseWith(readRun: RunReader): LoadToolAdapter['parse'] {
  return (stdout, stderr, exitCode, options = {}) =>
    finishResult(readRun(stdout, stderr, exitCode, options), options);
}

/** command() of a tool that runs as its own binary with exactly buildArgs' arguments. */
export function binaryCommand(
  this: Pick<LoadToolAdapter, 'buildArgs'>,
  spec: LoadSpec,
  binary: string,
): ToolCommand {
  return { file: binary, args: this.buildArgs(spec) };
}
