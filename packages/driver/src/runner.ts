import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type LoadResult,
  LoadResultSchema,
  type LoadSpec,
  type LoadSpecInput,
  type LoadToolName,
  UsageError,
} from '@scaleup/core';
import { allowedCpus, supervisedCommand, writeFileAtomic } from '@scaleup/core/io';
import { execa } from 'execa';
import { ChildCpuMeter } from './cpu.ts';
import { validateLoadSpec } from './spec.ts';
import { adapterFor, defaultTool } from './tools.ts';

export interface RunLoadOptions {
  /** The tool to run; the default tool (h2load if installed, else autocannon) when omitted. */
  tool?: LoadToolName;
  /** Where to keep the tool's raw output (stdout, then stderr); parent directories are created. */
  rawOutputPath?: string;
  /** Receives the tool's raw output (stdout, then stderr) when the caller keeps it elsewhere. */
  onRawOutput?: (raw: string) => void;
  /** Aborting kills the tool; the run still resolves to a result saying so. */
  signal?: AbortSignal;
  /** Called with the tool's pid once it runs (for tests and progress displays). */
  onSpawn?: (pid: number) => void;
}

/** A spec a tool can run, or a UsageError naming every problem; nothing has run yet. */
export function prepareLoad(specInput: LoadSpecInput, tool: LoadToolName): LoadSpec {
  const spec = validateLoadSpec(specInput);
  const problems = adapterFor(tool).refuse(spec);
  if (tool !== 'openloop' && (spec.ratePerSecond !== undefined || spec.maxConnections !== undefined)) {
    problems.push(`${tool} runs closed loop and cannot offer a constant rate: use --tool openloop`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return spec;
}

/**
 * Runs one bounded load and returns what it measured. The tool runs pinned to `spec.cpus`, dies
 * with this process (pdeathsig KILL), and is killed once `spec.timeoutSeconds` has passed.
 * A failing server or a tool that dies is a result with `errors` and `completed: false`, not an
 * exception; bad specs and missing tools are UsageErrors thrown before anything runs.
 */
export async function runLoad(specInput: LoadSpecInput, options: RunLoadOptions = {}): Promise<LoadResult> {
  const tool = options.tool ?? (await defaultTool());
  const spec = prepareLoad(specInput, tool);
  const adapter = adapterFor(tool);
  const detection = await adapter.detect();
  if (!detection.found) throw new UsageError(`${detection.reason}; to install: ${detection.install}`);

  const toolCommand = adapter.command(spec, detection.path);
  const command = supervisedCommand(toolCommand.file, toolCommand.args, {
    cpus: spec.cpus,
    deathSignal: 'KILL',
  });
  // The tool can keep busy no more cores than it runs threads: one wrk thread flat out on a
  // two-CPU machine is saturated, not half busy.
  const cores = Math.min(spec.cpus?.length ?? allowedCpus().length, spec.threads);
  const meter = new ChildCpuMeter();
  await meter.start();

  const startedMs = performance.now();
  const child = execa(command.file, command.args, {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
    timeout: spec.timeoutSeconds * 1000,
    killSignal: 'SIGKILL',
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    ...(toolCommand.env ? { env: toolCommand.env } : {}),
  });
  if (child.pid !== undefined) {
    meter.watch(child.pid);
    options.onSpawn?.(child.pid);
  }
  const outcome = await child;
  const wallSeconds = (performance.now() - startedMs) / 1000;
  const cpu = await meter.stop(cores);

  const stdout = String(outcome.stdout ?? '');
  const stderr = String(outcome.stderr ?? '');
  if (options.rawOutputPath !== undefined) {
    await mkdir(dirname(options.rawOutputPath), { recursive: true });
    await writeFileAtomic(options.rawOutputPath, stdout + stderr);
  }
  options.onRawOutput?.(stdout + stderr);

  const result = adapter.parse(stdout, stderr, outcome.exitCode ?? null, {
    argv: [command.file, ...command.args],
    toolVersion: detection.version,
    expectedBodyBytes: spec.expectedBodyBytes,
    inFlightResponses: spec.durationSeconds !== undefined ? spec.connections : 0,
  });
  const errors = [...result.errors];
  let completed = result.completed;
  if (outcome.timedOut) {
    completed = false;
    errors.unshift(`killed after the ${spec.timeoutSeconds} s time bound`);
  } else if (outcome.isCanceled) {
    completed = false;
    errors.unshift('cancelled: the tool was killed');
  } else if (outcome.signal !== undefined) {
    completed = false;
    errors.unshift(`the tool died from ${outcome.signal}`);
  } else if (outcome.failed && outcome.exitCode === undefined) {
    completed = false;
    errors.unshift(`could not start ${tool}: ${outcome.shortMessage}`);
  }
  const { done } = result.requests;
  if (completed && spec.requests !== undefined && done < spec.requests) {
    // A safety net for tools that stop short without saying so.
    errors.push(`${spec.requests - done} of ${spec.requests} requests never finished`);
  }

  return LoadResultSchema.parse({
    ...result,
    toolVersion: result.toolVersion === 'unknown' ? detection.version : result.toolVersion,
    // A killed tool printed no elapsed time; the wall clock then says how long it ran.
    elapsedSeconds: result.elapsedSeconds > 0 ? result.elapsedSeconds : completed ? 0 : wallSeconds,
    toolCpu:
      cpu === null
        ? null
        : {
            userSeconds: cpu.cpu.userSeconds,
            systemSeconds: cpu.cpu.systemSeconds,
            cores,
            utilisation:
              wallSeconds > 0 ? (cpu.cpu.userSeconds + cpu.cpu.systemSeconds) / (wallSeconds * cores) : 0,
          },
    errors,
    notes: cpu?.note ? [cpu.note] : [],
    completed,
    rawOutputPath: options.rawOutputPath ?? null,
  });
}
