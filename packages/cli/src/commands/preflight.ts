import {
  checkTuningFor,
  collectEnvironment,
  createDefaultDeps,
  loadProfiles,
  peakConnections,
  REPO_DIR,
} from '@scaleup/bench';
import { type Environment, ScenarioError, type TuningCheck, UsageError } from '@scaleup/core';
import { loadZeroCopy, ZERO_COPY_ADDON } from '@scaleup/server';
import { parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: pnpm preflight [--profile NAME] [--json]

Prints what a benchmark run would record about this machine (CPU, cores, memory, kernel,
virtualisation, governor, Node, nginx, load tools, limits, sysctls, git state), compares the
sysctls and limits with the seed's tuning and with what the profile's concurrency needs, and
prints the commands that would fix each shortfall. It changes nothing.

  --profile NAME   size the checks for this profile's connections (default: default)
  --json           print {environment, tuning} as JSON
  -h, --help       this text`;

function environmentLines(env: Environment): string[] {
  const tools = env.tools.map((t) =>
    t.missing === null ? `${t.name} ${t.version ?? '?'}` : `${t.name}: missing (${t.missing})`,
  );
  return [
    `host            ${env.hostname}`,
    `cpu             ${env.cpuModel}; ${env.physicalCores ?? '?'} physical / ${env.logicalCores} logical cores; SMT ${env.smt === null ? 'unknown' : env.smt ? 'on' : 'off'}`,
    `memory          ${env.memoryBytes === null ? 'unknown' : `${(env.memoryBytes / 2 ** 30).toFixed(1)} GiB`}`,
    `kernel          ${env.kernel}; ${env.distribution ?? 'unknown distribution'}`,
    `virtualisation  ${env.virtualisation ?? 'unknown'}`,
    `cpu governor    ${env.cpuGovernor ?? 'not exposed (no cpufreq: typical in VMs)'}`,
    `node            ${env.nodeVersion}`,
    `nginx           ${env.nginx.missing === null ? `${env.nginx.version} at ${env.nginx.path}` : `missing: ${env.nginx.missing}`}`,
    `load tools      ${tools.join('; ')}`,
    `open files      soft ${env.openFilesSoft ?? '?'}, hard ${env.openFilesHard ?? '?'}`,
    `git             ${env.git.commit ?? 'not a git checkout'}${env.git.dirty ? ' (uncommitted changes)' : ''}`,
  ];
}

function tuningLines(checks: TuningCheck[]): string[] {
  const width = Math.max(...checks.map((c) => c.setting.length));
  const lines = checks.map(
    (c) =>
      `${c.ok ? 'ok  ' : 'LOW '} ${c.setting.padEnd(width)}  ${c.actual ?? '?'}  (seed/needed: ${c.recommended})`,
  );
  const low = checks.filter((c) => !c.ok);
  if (low.length > 0) {
    lines.push('', 'What limits results on this machine:');
    for (const c of low) lines.push(`  ${c.setting}: ${c.impact}`);
    lines.push('', 'Commands that would fix it (as root; preflight changes nothing):');
    for (const c of low) lines.push(`  ${c.fix}`);
  }
  return lines;
}

export const preflightCommand: Command = {
  name: 'preflight',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      profile: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    let profiles: Awaited<ReturnType<typeof loadProfiles>>;
    try {
      profiles = await loadProfiles();
    } catch (error) {
      if (error instanceof ScenarioError) throw new UsageError(error.message);
      throw error;
    }
    const name = values.profile ?? 'default';
    const profile = profiles[name];
    if (profile === undefined)
      throw new UsageError(`unknown --profile '${name}' (profiles: ${Object.keys(profiles).join(', ')})`);
    const deps = await createDefaultDeps();
    const [tools, nginx] = await Promise.all([deps.detectTools(), deps.nginx.detect()]);
    const environment = await collectEnvironment({ tools, nginx, repoDir: REPO_DIR });
    const connections = peakConnections(profile);
    const tuning = checkTuningFor(environment, profile);
    const zeroCopyNote = loadZeroCopy().note;
    const zeroCopy = { active: zeroCopyNote === null, note: zeroCopyNote };
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ profile: name, connections, environment, zeroCopy, tuning }, null, 2)}\n`,
      );
      return 0;
    }
    const out = [
      ...environmentLines(environment),
      `zero-copy       ${zeroCopy.active ? `sendfile addon loads (${ZERO_COPY_ADDON})` : `off: ${zeroCopyNote}; large responses go out with write()`}`,
      '',
      `Tuning (profile ${name}: up to ${connections} connections per process):`,
      ...tuningLines(tuning),
      '',
      'sysctls recorded:',
      ...Object.entries(environment.sysctls).map(([k, v]) => `  ${k} = ${v ?? '?'}`),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};
