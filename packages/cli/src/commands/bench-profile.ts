import type { CpuProfileMode } from '@scaleup/bench';
import { type ScenarioProfile, UsageError } from '@scaleup/core';
import { clean } from './profile.ts';

/**
 * `--cpu-profile` takes an optional word (`--cpu-profile tool`), which node's parseArgs cannot
 * say: the flag and its word are taken out of argv before the strict parse sees the rest.
 */
export function takeCpuProfile(argv: readonly string[]): {
  argv: string[];
  cpuProfile: CpuProfileMode | undefined;
} {
  const rest: string[] = [];
  let cpuProfile: CpuProfileMode | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const inline = /^--cpu-profile=(.*)$/s.exec(arg);
    if (arg !== '--cpu-profile' && inline === null) {
      rest.push(arg);
      continue;
    }
    let word = inline?.[1];
    if (word === undefined && (argv[i + 1] === 'tool' || argv[i + 1] === 'server')) {
      word = argv[i + 1];
      i += 1;
    }
    if (word !== undefined && word !== 'tool' && word !== 'server') {
      throw new UsageError(`--cpu-profile takes 'tool' or nothing, got '${clean(word)}'`);
    }
    cpuProfile = word === 'tool' ? 'tool' : (cpuProfile ?? 'server');
  }
  return { argv: rest, cpuProfile };
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** One line per profiled scenario: where the server's samples went and its top function. */
export function profileLine(
  scenarioId: string,
  profile: ScenarioProfile | null,
  problem: string | null,
): string {
  const id = clean(scenarioId);
  if (profile === null) return `${id}: no CPU profile: ${clean(problem ?? 'unknown reason')}`;
  const b = profile.breakdown;
  const top = b.topSelf[0];
  const parts = [
    `${id}: profile ${b.samples} samples: kernel ${percent(b.kernelFraction)}, native ${percent(b.nativeFraction)}, JS ${percent(b.javascriptFraction)}, GC ${percent(b.gcFraction)}`,
    top === undefined
      ? 'no top function'
      : `top self ${clean(top.name)} [${top.kind}] ${percent(top.selfFraction)}`,
    profile.folded,
  ];
  if (problem !== null) parts.push(clean(problem));
  return parts.join('; ');
}
