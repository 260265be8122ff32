import { checkHosts, type HostCheck } from '@scaleup/bench';
import { UsageError } from '@scaleup/core';
import { parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: pnpm hosts check DEST... [--ssh-config FILE] [--remote-dir DIR] [--connections N] [--json]

Checks other hosts as a run with --load-host/--server-host would, all at once, and changes
nothing there. Per host: whether ssh works, node, the load tools and nginx with their versions
(and the line that installs what is missing on that host's distribution), the tuning below the
seed's, the clock offset against this machine, and what a run would copy there (the bundle's
size, whether the host's cache has it already, and whether the native addon goes with it), and
how much the host's bundle cache holds with what the next run there would prune of it.
Exit code 0 when every host could run, 1 when one could not, 2 for bad arguments.

  DEST               an ssh destination or a Host of the ssh config; repeatable
  --ssh-config FILE  passes -F FILE to every ssh call
  --remote-dir DIR   the hosts have a scaleup checkout at DIR: nothing would be copied
  --connections N    size the tuning checks for N connections (default 128)
  --json             print the checks as JSON
  -h, --help         this text`;

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** Text from a host is data: control characters never reach the terminal. */
function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** What a host gets of openloop and the zero-copy addon, in words. */
const NATIVE_TEXT: Record<NonNullable<HostCheck['copy']>['native'], (platform: string) => string> = {
  shipped: () => 'with openloop and the zero-copy addon built here',
  build: (platform) => `openloop and the zero-copy addon would be built there by its cc (${platform})`,
  none: (platform) =>
    `no openloop or zero-copy addon for ${platform}: no C compiler there (the server would use write())`,
};

/** How much the host's bundle cache holds, and what the next run there would prune of it. */
function cacheText(cache: NonNullable<HostCheck['copy']>['cache']): string {
  const { bundles, bytes, prunable } = cache;
  const held = `${bundles} bundle${bundles === 1 ? '' : 's'}, ${kib(bytes)} in all (native builds too)`;
  return prunable.entries === 0
    ? `${held}; nothing to prune`
    : `${held}; the next run prunes ${prunable.entries} old ${prunable.entries === 1 ? 'entry' : 'entries'} (${kib(prunable.bytes)})`;
}

function hostLines(check: HostCheck): string[] {
  const lines = [`${clean(check.host)}: ${check.reachable ? 'reachable' : 'NOT reachable'}`];
  for (const p of check.problems) lines.push(`  problem      ${clean(p)}`);
  if (!check.reachable) return lines;
  lines.push(`  node         ${check.nodeVersion ?? 'missing'}`);
  lines.push(`  distribution ${check.distribution ?? 'unknown'}`);
  for (const [name, tool] of Object.entries(check.tools))
    lines.push(`  ${name.padEnd(12)} ${tool.path === null ? 'missing' : clean(tool.version ?? tool.path)}`);
  if (check.installLine !== null) lines.push(`  install      ${clean(check.installLine)}`);
  lines.push(
    `  clock        ${check.clockOffsetMs === null ? 'not measured' : `${check.clockOffsetMs.toFixed(1)} ms ± ${check.clockUncertaintyMs?.toFixed(1) ?? '?'} ms against this machine`}`,
  );
  if (check.tuningShortfalls.length === 0) lines.push('  tuning       ok');
  for (const t of check.tuningShortfalls)
    lines.push(
      `  tuning LOW   ${clean(t.setting)} ${clean(t.actual ?? '?')} (wants ${t.recommended}): ${t.fix}`,
    );
  const copy = check.copy;
  lines.push(
    copy === null
      ? '  copy         nothing (a checkout there, or no node to check with)'
      : `  copy         ${copy.cached ? 'nothing: its cache has' : `${kib(copy.bytes)} in ${copy.files} files:`} bundle ${copy.hash.slice(0, 12)}; ${NATIVE_TEXT[copy.native](clean(copy.platform))}`,
  );
  if (copy !== null) lines.push(`  cache        ${cacheText(copy.cache)}`);
  return lines;
}

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      'ssh-config': { type: 'string' },
      'remote-dir': { type: 'string' },
      connections: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('hosts check needs at least one DEST');
  const connections = values.connections === undefined ? 128 : Number(values.connections);
  if (!Number.isInteger(connections) || connections < 1)
    throw new UsageError(
      `--connections must be a positive integer, not ${JSON.stringify(values.connections)}`,
    );
  let checks: HostCheck[];
  try {
    checks = await checkHosts(positionals, {
      sshConfig: values['ssh-config'],
      remoteDir: values['remote-dir'],
      connections,
    });
  } catch (error) {
    // A destination ssh would take as an option is bad input, not a host problem.
    if (
      error instanceof Error &&
      /^(not an ssh destination|SCALEUP_BUNDLE_NATIVE must be)/.test(error.message)
    )
      throw new UsageError(error.message);
    throw error;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else process.stdout.write(`${checks.flatMap((c) => [...hostLines(c), '']).join('\n')}`);
  return checks.every((c) => c.problems.length === 0) ? 0 : 1;
}

export const hostsCommand: Command = {
  name: 'hosts',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write(`${HELP}\n`);
      return sub === undefined ? 2 : 0;
    }
    if (sub !== 'check') throw new UsageError(`unknown hosts subcommand '${sub}' (subcommands: check)`);
    return check(rest);
  },
};
