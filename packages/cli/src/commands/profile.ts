import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { formatFolded, type ProfileBreakdown, UsageError } from '@scaleup/core';
import { isAlive, writeFileAtomic } from '@scaleup/core/io';
import {
  detectPerf,
  PERF_SAMPLE_HZ,
  PerfError,
  profileTargets,
  type RecordedProfile,
  recordProfile,
} from '@scaleup/driver';
import { intOption, numberOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: pnpm run profile --pid PID [--pid PID ...] [options]
(pnpm's built-in 'profile' command shadows the script: say 'pnpm run profile')

Samples running processes with Linux perf (cpu-clock at ${PERF_SAMPLE_HZ} Hz, with call stacks) for a
while, folds the stacks (one line per stack and its count, the format flame graph tools read)
and prints where the CPU went: kernel, native code, JavaScript, garbage collection, and the
functions with the most samples. Run the server under load meanwhile.

  --pid PID       a process to profile, with its children (repeatable): the master's pid
                  covers a server's workers
  --no-children   only the pids given
  --seconds S     how long to sample (default 10)
  --out DIR       where <name>.folded and <name>.breakdown.json go (default: .)
  --name NAME     file name stem (default: profile-<first pid>)
  --top N         functions listed by self and by total samples (default 15)
  --json          print the breakdown file's content as JSON
  -h, --help      this text

JavaScript frames need Node's perf map: start our server with 'pnpm server --perf-basic-prof',
any other Node program with 'node --perf-basic-prof'. Needs perf (apt-get install linux-perf)
and root, or kernel.perf_event_paranoid <= 1.`;

/** Text from perf (function and thread names) is data: no control characters reach the terminal. */
export function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what is removed
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

export function breakdownLines(breakdown: ProfileBreakdown): string[] {
  const lines = [
    `  kernel ${percent(breakdown.kernelFraction)}   native ${percent(breakdown.nativeFraction)}   javascript ${percent(breakdown.javascriptFraction)}   gc ${percent(breakdown.gcFraction)}`,
    `  threads: ${breakdown.threads.map((t) => `${clean(t.name)} ${t.samples}`).join(', ')}`,
    `  system calls: ${breakdown.syscalls.map((c) => `${clean(c.name)} ${percent(c.fraction)}`).join(', ') || 'none'}`,
    'top by self samples:',
  ];
  for (const f of breakdown.topSelf) {
    lines.push(`  ${percent(f.selfFraction).padStart(6)}  ${clean(f.name)} [${f.kind}]`);
  }
  lines.push('top by total samples (the function and what it calls):');
  for (const f of breakdown.topTotal) {
    lines.push(`  ${percent(f.totalFraction).padStart(6)}  ${clean(f.name)} [${f.kind}]`);
  }
  return lines;
}

async function commOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
}

/**
 * Node processes when none of them writes a perf map: their JavaScript would show as [unknown].
 * One with a map is enough to stay quiet: our server's master runs without the flag (it serves
 * nothing in the shared and reuseport modes), only its workers get it.
 */
async function unmappedNodes(pids: readonly number[]): Promise<number[]> {
  const nodes: number[] = [];
  for (const pid of pids) {
    if ((await commOf(pid)) !== 'node') continue;
    const mapped = await stat(`/tmp/perf-${pid}.map`).then(
      () => true,
      () => false,
    );
    if (mapped) return [];
    nodes.push(pid);
  }
  return nodes;
}

interface ProfileArgs {
  pids: number[];
  children: boolean;
  seconds: number;
  out: string;
  name: string | undefined;
  top: number;
  json: boolean;
}

function parseProfileArgs(argv: string[]): ProfileArgs | 'help' {
  const { values } = parseCommandArgs(argv, {
    pid: { type: 'string', multiple: true },
    children: { type: 'boolean' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    top: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const pids = (values.pid ?? []).map((text) => intOption(text, 'pid', 0, 1, 2 ** 22));
  if (pids.length === 0) throw new UsageError('--pid is required (the process to profile)');
  if (values.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(values.name)) {
    throw new UsageError(`--name must use letters, digits, '.', '_' and '-', got '${clean(values.name)}'`);
  }
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out must not be empty');
  const seconds = numberOption(values.seconds, 'seconds', 10, 0.1);
  if (seconds > 3600) throw new UsageError(`--seconds must be at most 3600, got '${values.seconds}'`);
  return {
    pids,
    children: values.children !== false,
    seconds,
    out: resolve(values.out ?? '.'),
    name: values.name,
    top: intOption(values.top, 'top', 15, 1, 1000),
    json: values.json === true,
  };
}

async function writeProfile(args: ProfileArgs, profile: RecordedProfile, perfVersion: string) {
  const stem = args.name ?? `profile-${args.pids[0]}`;
  const foldedPath = join(args.out, `${stem}.folded`);
  const breakdownPath = join(args.out, `${stem}.breakdown.json`);
  const document = {
    schema: 'scaleup.profile/1',
    pids: profile.pids,
    seconds: profile.seconds,
    event: 'cpu-clock',
    frequencyHz: PERF_SAMPLE_HZ,
    perfVersion,
    folded: basename(foldedPath),
    breakdown: profile.breakdown,
  };
  await mkdir(args.out, { recursive: true });
  await writeFileAtomic(foldedPath, formatFolded(profile.stacks));
  await writeFileAtomic(breakdownPath, `${JSON.stringify(document, null, 2)}\n`);
  return { foldedPath, breakdownPath, document };
}

export const profileCommand: Command = {
  name: 'profile',
  async run(argv) {
    const args = parseProfileArgs(argv);
    if (args === 'help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    for (const pid of args.pids)
      if (!(await isAlive(pid))) throw new UsageError(`no process with pid ${pid}`);
    const perf = await detectPerf();
    if (!perf.ok) throw new UsageError(`${perf.problem}: ${perf.fix}`);
    const pids = await profileTargets(args.pids, args.children);
    const unmapped = await unmappedNodes(pids);
    if (unmapped.length > 0) {
      process.stderr.write(
        `scaleup profile: no /tmp/perf-<pid>.map for node pid ${unmapped.join(', ')}: JavaScript shows as [unknown] (start it with --perf-basic-prof)\n`,
      );
    }
    let profile: RecordedProfile;
    try {
      profile = await recordProfile({ perf: perf.path, pids, seconds: args.seconds, top: args.top });
    } catch (error) {
      // perf's own refusal (permissions, a vanished pid) is something the user fixes, like bad input.
      if (error instanceof PerfError) throw new UsageError(error.message);
      throw error;
    }
    const written = await writeProfile(args, profile, perf.version);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(written.document, null, 2)}\n`);
      return 0;
    }
    const names = await Promise.all(pids.map(async (pid) => `${pid} ${clean(await commOf(pid))}`));
    process.stdout.write(
      [
        `profile of ${names.join(', ')} for ${args.seconds} s: ${profile.breakdown.samples} samples`,
        ...breakdownLines(profile.breakdown),
        `wrote ${written.foldedPath} and ${written.breakdownPath}`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};
