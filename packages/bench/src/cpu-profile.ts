import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatFolded, type ScenarioProfile } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import {
  detectPerf,
  PERF_EVENT,
  PERF_SAMPLE_HZ,
  type PerfDetection,
  type ProfileWindow,
  type RecordedProfile,
  startProfile,
} from '@scaleup/driver';
import { fileSafe } from './load-spec.ts';
import type { CpuProfileMode } from './ports.ts';
import type { ServerPlace } from './servers.ts';

/**
 * CPU profiles for `bench --cpu-profile`: whether perf can record here is asked once per run,
 * and a run that cannot goes on without profiles, every result saying why.
 */
export type Profiler =
  | { mode: CpuProfileMode; perf: string; problem: null }
  | { mode: CpuProfileMode; perf: null; problem: string };

/** perf for this run, or the one line (with the fix) that says why there will be no profiles. */
export async function openProfiler(
  mode: CpuProfileMode,
  place: ServerPlace,
  detect: () => Promise<PerfDetection> = detectPerf,
): Promise<Profiler> {
  // Samples are taken by a perf on this machine: a server elsewhere is out of its reach.
  if (place.host.kind !== 'local') {
    return {
      mode,
      perf: null,
      problem: `CPU profiles not recorded: the servers run on ${place.host.name}, perf samples this machine`,
    };
  }
  const found = await detect();
  if (!found.ok)
    return { mode, perf: null, problem: `CPU profiles not recorded: ${found.problem}: ${found.fix}` };
  return { mode, perf: found.path, problem: null };
}

/** The results directory's relative path of a scenario's folded stacks. */
export function foldedPath(resultId: string, tool: boolean): string {
  return `profiles/${fileSafe(resultId)}${tool ? '.tool' : ''}.folded`;
}

export function startWindow(
  perf: string,
  pids: readonly number[],
  maxSeconds: number,
): Promise<ProfileWindow> {
  return startProfile({ perf, pids, maxSeconds });
}

async function writeFolded(outDir: string, relative: string, recorded: RecordedProfile): Promise<void> {
  await mkdir(join(outDir, 'profiles'), { recursive: true });
  await writeFileAtomic(join(outDir, relative), formatFolded(recorded.stacks));
}

/** The server's (and the tool's) folded stacks written, and what results.json says of them. */
export async function storeProfile(
  outDir: string,
  resultId: string,
  server: RecordedProfile,
  tool: RecordedProfile | null,
): Promise<ScenarioProfile> {
  const folded = foldedPath(resultId, false);
  await writeFolded(outDir, folded, server);
  let toolEntry: ScenarioProfile['tool'] = null;
  if (tool !== null) {
    const toolFolded = foldedPath(resultId, true);
    await writeFolded(outDir, toolFolded, tool);
    toolEntry = { folded: toolFolded, samples: tool.breakdown.samples, breakdown: tool.breakdown };
  }
  return {
    folded,
    samples: server.breakdown.samples,
    sampleHz: PERF_SAMPLE_HZ,
    event: PERF_EVENT,
    breakdown: server.breakdown,
    tool: toolEntry,
  };
}
