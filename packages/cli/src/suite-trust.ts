import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { DEFAULT_PROFILES_PATH, DEFAULT_SUITE_PATH, REPO_DIR } from '@scaleup/bench';
import { quoted, type Scenario } from '@scaleup/core';

/**
 * A suite is code: its command servers run any argv with any environment, and the ssh config
 * it names can run commands here (ProxyCommand, Match exec) the moment ssh starts. That is by
 * design (docs/security.md); what a user must get is a look at it before it runs when the file
 * came from elsewhere. No prompt: CI has no stdin, and a listing in the log is what review needs.
 */

/** The real path of `path` (or of the longest part of it that exists) is outside the checkout. */
export function outsideCheckout(path: string, checkout = REPO_DIR): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const inside = relative(real(checkout), real(path));
  return inside === '..' || inside.startsWith('../') || isAbsolute(inside);
}

const PLAIN = /^[A-Za-z0-9_\-+.,/:@%={}]+$/;
/** Past this, an argument is cut in the listing (the suite itself keeps it whole). */
const MAX_SHOWN = 200;

/** An argument as the listing shows it: plain words as they are, anything else quoted, escaped. */
function shown(arg: string): string {
  const cut = arg.length > MAX_SHOWN ? arg.slice(0, MAX_SHOWN) : arg;
  const text = PLAIN.test(cut) ? cut : quoted(cut);
  return cut === arg ? text : `${text}...(${arg.length - MAX_SHOWN} more characters)`;
}

const argv = (words: readonly string[]) => words.map(shown).join(' ');

export interface SuiteListingInput {
  suitePath: string;
  profilesPath: string;
  /** The scenarios this run will start (after --only). */
  scenarios: readonly Scenario[];
  remote: {
    loadHosts: readonly string[];
    serverHost: string | null;
    sshConfig?: string | undefined;
    remoteDir?: string | undefined;
  };
  checkout?: string;
}

/** What a command scenario runs, one line per program. */
function commandLines(scenario: Scenario, where: string): string[] {
  const server = scenario.server;
  if (server.kind !== 'command') return [];
  const cwd = server.cwd === undefined ? '' : ` (in ${shown(server.cwd)})`;
  const env = Object.entries(server.env ?? {}).map(([k, v]) => `${shown(k)}=${shown(v)}`);
  const id = shown(scenario.id);
  return [
    ...(server.check === undefined ? [] : [`  ${id} check, ${where}: ${argv(server.check)}${cwd}`]),
    `  ${id} server, ${where}: ${env.length > 0 ? `${env.join(' ')} ` : ''}${argv(server.command)}${cwd}`,
  ];
}

/**
 * The block `pnpm bench` prints on stderr before it starts anything, when the suite or the
 * profiles file lives outside the checkout; null when both are the checkout's own.
 */
export function suiteListing(input: SuiteListingInput): string | null {
  const checkout = input.checkout ?? REPO_DIR;
  const outside = [
    ...(outsideCheckout(input.suitePath, checkout) ? [`suite ${shown(input.suitePath)}`] : []),
    ...(outsideCheckout(input.profilesPath, checkout) ? [`profiles ${shown(input.profilesPath)}`] : []),
  ];
  if (outside.length === 0) return null;
  const { remote } = input;
  const where = remote.serverHost === null ? 'here' : `on ${shown(remote.serverHost)}`;
  const commands = input.scenarios.flatMap((s) => commandLines(s, where));
  const lines = [
    `scaleup bench: the ${outside.join(' and the ')} come${outside.length === 1 ? 's' : ''} from outside this checkout.`,
    'A suite is code: it runs what it names with your rights. This run will start:',
    ...(commands.length > 0 ? commands : ['  no command of its own (only scaleup and nginx servers)']),
  ];
  if (remote.sshConfig !== undefined)
    lines.push(`  ssh config ${shown(remote.sshConfig)}: its ProxyCommand and Match exec lines run here`);
  if (remote.loadHosts.length > 0)
    lines.push(`  load hosts over ssh: ${remote.loadHosts.map(shown).join(', ')}`);
  if (remote.serverHost !== null) lines.push(`  server host over ssh: ${shown(remote.serverHost)}`);
  if (remote.remoteDir !== undefined)
    lines.push(`  the checkout there, whose code runs: ${shown(remote.remoteDir)}`);
  lines.push('(Going on. Stop it now if that is not what you meant to run; see docs/security.md.)');
  return lines.join('\n');
}

/** Prints the listing, if any, for the files `--suite` and `--profiles` name (or the defaults). */
export function announceSuite(
  files: { suite?: string | undefined; profiles?: string | undefined },
  scenarios: readonly Scenario[],
  remote: SuiteListingInput['remote'],
): void {
  const listing = suiteListing({
    suitePath: files.suite === undefined ? DEFAULT_SUITE_PATH : resolve(files.suite),
    profilesPath: files.profiles === undefined ? DEFAULT_PROFILES_PATH : resolve(files.profiles),
    scenarios,
    remote,
  });
  if (listing !== null) process.stderr.write(`${listing}\n`);
}
