/**
 * Test hosts on one machine: network namespaces, each behind a veth pair with its own sshd, so
 * the ssh host is exercised over a real TCP connection that a test can cut.
 *
 * Everything made here is named after the creating process (`scaleup-t<pid>-<k>`, veth
 * `su<pid>n<k>`, /tmp/scaleup-netns-<pid>-*), so a later run can sweep what a killed run left.
 * Addresses come from 198.18.0.0/15 only (benchmarking range, RFC 2544): 198.18.<k>.1 on the
 * root side, 198.18.<k>.2 inside.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { supervisedCommand, waitFor } from '@scaleup/core/io';

const NETNS_PREFIX = 'scaleup-t';
const VETH_PREFIX = 'su';
const TEMP_PREFIX = '/tmp/scaleup-netns-';
/** One directory per claimed /24, created with mkdir (atomic) so parallel test files never share one. */
const CLAIMS = '/tmp/scaleup-netns-claims';
const FORWARD = '/proc/sys/net/ipv4/ip_forward';
const SSHD = '/usr/sbin/sshd';

export interface NamespaceSpec {
  /** sshd's ClientAliveInterval (seconds; 0 = off); its ClientAliveCountMax is 3. */
  clientAliveSeconds?: number;
  /**
   * Directories every session of this host's sshd sees empty (a tmpfs over each, in a mount
   * namespace of its own): a bare host without the checkout, node_modules or a shared home.
   */
  hide?: string[];
  /** Files (binaries) this host does not have: a non-executable empty file is bound over each. */
  mask?: string[];
}

export interface TestNamespace {
  name: string;
  /** The ssh config alias (same as the name). */
  alias: string;
  k: number;
  rootAddress: string;
  address: string;
  veth: string;
  sshdPid: number;
  /** readlink /proc/<pid>/ns/net of processes inside. */
  netnsId: string;
}

export interface NetnsLab {
  namespaces: TestNamespace[];
  /**
   * ssh config with one Host per namespace plus `<name>-badport` (nothing listens),
   * `<name>-nokey` (auth fails) and `<name>-void` (an address nobody has) aliases.
   */
  sshConfig: string;
  dir: string;
  teardown(): void;
}

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(file: string, args: string[]): string | null {
  try {
    return run(file, args);
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Why the netns tests cannot run here, or null when they can. */
export function netnsSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const binary of ['/usr/sbin/ip', SSHD, '/usr/bin/ssh', '/usr/bin/ssh-keygen']) {
    if (!existsSync(binary))
      return `${binary} is missing (apt-get install -y iproute2 openssh-server openssh-client)`;
  }
  if (tryRun('ip', ['netns', 'list']) === null) return '`ip netns list` fails (no netns support?)';
  return null;
}

function killNamespacePids(name: string): void {
  const pids = (tryRun('ip', ['netns', 'pids', name]) ?? '').split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}

function netnsNames(): string[] {
  return (tryRun('ip', ['netns', 'list']) ?? '')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

/** Removes what earlier runs left behind when their creating process is dead. */
export function sweepLeftovers(): void {
  for (const name of netnsNames()) {
    const owner = Number(/^scaleup-t(\d+)-\d+$/.exec(name)?.[1]);
    if (!Number.isInteger(owner) || pidAlive(owner)) continue;
    killNamespacePids(name);
    tryRun('ip', ['netns', 'del', name]);
  }
  for (const line of (tryRun('ip', ['-o', 'link', 'show']) ?? '').split('\n')) {
    const match = /^\d+: (su(\d+)n\d+)[@:]/.exec(line);
    if (match && !pidAlive(Number(match[2]))) tryRun('ip', ['link', 'del', match[1]!]);
  }
  for (const entry of readdirSync('/tmp')) {
    const match = /^scaleup-netns-(\d+)-/.exec(entry);
    if (match && !pidAlive(Number(match[1]))) rmSync(join('/tmp', entry), { recursive: true, force: true });
  }
  if (existsSync(CLAIMS)) {
    for (const entry of readdirSync(CLAIMS)) {
      const owner = Number(tryRead(join(CLAIMS, entry, 'owner')));
      if (!pidAlive(owner)) rmSync(join(CLAIMS, entry), { recursive: true, force: true });
    }
  }
  restoreForwardingIfUnused();
}

function tryRead(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function claimedSubnets(): number[] {
  if (!existsSync(CLAIMS)) return [];
  return readdirSync(CLAIMS)
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The value ip_forward had before the first live lab set it; restored when the last one goes. */
function restoreForwardingIfUnused(): void {
  const saved = join(CLAIMS, 'ip_forward.orig');
  if (claimedSubnets().length > 0 || !existsSync(saved)) return;
  const value = tryRead(saved);
  if (value === '0' || value === '1') writeFileSync(FORWARD, `${value}\n`);
  rmSync(saved, { force: true });
  try {
    rmdirSync(CLAIMS); // Only when empty: a claim made meanwhile by another test process stays.
  } catch {
    // Not empty, or gone.
  }
}

function claimSubnet(): number {
  mkdirSync(CLAIMS, { recursive: true });
  const used = run('ip', ['-o', '-4', 'addr', 'show']);
  for (let k = 1; k < 255; k++) {
    if (used.includes(` 198.18.${k}.`)) continue;
    try {
      mkdirSync(join(CLAIMS, String(k)));
    } catch {
      continue; // Another test process has it.
    }
    writeFileSync(join(CLAIMS, String(k), 'owner'), String(process.pid));
    return k;
  }
  throw new Error('no free /24 left in 198.18.0.0/16');
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 500 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * The user's ~/.bashrc, which bash reads for every ssh command. Seen here: a pyenv init there
 * takes a lock file that a killed session (the lost-connection tests kill them) leaves behind,
 * and every later login then waits about a minute for it. A test host's sessions start from a
 * plain shell instead: an empty file is bound over it for this sshd alone.
 */
function shellStartupFiles(): string[] {
  const bashrc = join(homedir(), '.bashrc');
  return existsSync(bashrc) ? [bashrc] : [];
}

/**
 * With something to hide: sshd starts in a private mount namespace (it dies with its sshd, and
 * the tmpfs mounts with it) after a fixed script mounts over each path given as an argument.
 */
function hidingPrefix(spec: NamespaceSpec, dir: string): string[] {
  const hide = spec.hide ?? [];
  // A startup file in a hidden directory is gone already (and cannot be bound over).
  const hidden = (file: string) => hide.some((dir) => file === dir || file.startsWith(`${dir}/`));
  const mask = [...(spec.mask ?? []), ...shellStartupFiles().filter((file) => !hidden(file))];
  if (hide.length === 0 && mask.length === 0) return [];
  const empty = join(dir, 'masked-binary');
  writeFileSync(empty, '', { mode: 0o644 });
  const script =
    'set -e; while [ "$1" != -- ]; do mount -t tmpfs none "$1"; shift; done; shift; ' +
    'while [ "$1" != -- ]; do mount --bind "$0" "$1"; shift; done; shift; exec "$@"';
  return [
    'unshare',
    '-m',
    '--propagation',
    'private',
    '/bin/sh',
    '-c',
    script,
    empty,
    ...hide,
    '--',
    ...mask,
    '--',
  ];
}

/**
 * Makes one namespace per spec, each with a running sshd; the lab's teardown runs from the
 * caller's afterAll and, should that never come, from this process's exit and signal hooks.
 */
export async function createLab(specs: NamespaceSpec[]): Promise<NetnsLab> {
  sweepLeftovers();
  const dir = mkdtempSync(`${TEMP_PREFIX}${process.pid}-`);
  const namespaces: TestNamespace[] = [];
  const claimed: number[] = [];
  const sshdPids: number[] = [];
  let tornDown = false;

  const teardown = () => {
    if (tornDown) return;
    tornDown = true;
    for (const pid of sshdPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    for (const k of claimed) {
      const name = `${NETNS_PREFIX}${process.pid}-${k}`;
      // Session processes sshd forked, and whatever tests left running inside: all made here.
      killNamespacePids(name);
      tryRun('ip', ['netns', 'del', name]);
      tryRun('ip', ['link', 'del', `${VETH_PREFIX}${process.pid}n${k}`]);
      rmSync(join(CLAIMS, String(k)), { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
    restoreForwardingIfUnused();
    process.off('exit', teardown);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals) => {
    teardown();
    process.kill(process.pid, signal);
  };
  process.on('exit', teardown);
  for (const signal of SIGNALS) process.once(signal, onSignal);

  try {
    mkdirSync('/run/sshd', { recursive: true });
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
    const savedForwarding = join(CLAIMS, 'ip_forward.orig');
    mkdirSync(CLAIMS, { recursive: true });
    if (!existsSync(savedForwarding)) writeFileSync(savedForwarding, readFileSync(FORWARD, 'utf8'));

    let config = '';
    for (const spec of specs) {
      const k = claimSubnet();
      claimed.push(k);
      const name = `${NETNS_PREFIX}${process.pid}-${k}`;
      const veth = `${VETH_PREFIX}${process.pid}n${k}`;
      const rootAddress = `198.18.${k}.1`;
      const address = `198.18.${k}.2`;
      const inside = (...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
      run('ip', ['netns', 'add', name]);
      run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
      run('ip', ['addr', 'add', `${rootAddress}/24`, 'dev', veth]);
      run('ip', ['link', 'set', veth, 'up']);
      inside('ip', 'link', 'set', 'lo', 'up');
      inside('ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      inside('ip', 'link', 'set', 'eth0', 'up');
      inside('ip', 'route', 'add', 'default', 'via', rootAddress);
      writeFileSync(FORWARD, '1\n');

      const sshdConfig = join(dir, `sshd-${k}.conf`);
      writeFileSync(
        sshdConfig,
        [
          `ListenAddress ${address}:22`,
          `HostKey ${join(dir, 'host_key')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          `PidFile ${join(dir, `sshd-${k}.pid`)}`,
          'StrictModes no',
          'UsePAM no',
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          // The server side of noticing a silent link: without it, a session whose link is cut
          // lives until TCP gives up (minutes), and so does its command.
          `ClientAliveInterval ${spec.clientAliveSeconds ?? 1}`,
          'ClientAliveCountMax 3',
          // Every spawn and exec is one session on the multiplexed connection.
          'MaxSessions 100',
          'MaxStartups 100',
          'LogLevel ERROR',
          '',
        ].join('\n'),
      );
      const command = supervisedCommand(
        'ip',
        ['netns', 'exec', name, ...hidingPrefix(spec, dir), SSHD, '-D', '-e', '-f', sshdConfig],
        {
          deathSignal: 'TERM',
        },
      );
      const sshdLog = openSync(join(dir, `sshd-${k}.log`), 'a');
      const sshd = spawn(command.file, command.args, { stdio: ['ignore', sshdLog, sshdLog] });
      closeSync(sshdLog);
      if (sshd.pid === undefined) throw new Error(`cannot start sshd in ${name}`);
      sshdPids.push(sshd.pid);
      await waitFor(
        async () => {
          if (sshd.exitCode !== null) throw new Error(`sshd in ${name} exited with ${sshd.exitCode}`);
          return (await canConnect(address, 22)) ? true : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, what: `sshd in ${name} on ${address}:22` },
      );
      const host = (alias: string, extra: string[]) =>
        [
          `Host ${alias}`,
          `  HostName ${address}`,
          '  User root',
          '  StrictHostKeyChecking no',
          '  UserKnownHostsFile /dev/null',
          '  LogLevel ERROR',
          '  IdentitiesOnly yes',
          ...extra.map((line) => `  ${line}`),
          '',
        ].join('\n');
      config += host(name, [`IdentityFile ${join(dir, 'client_key')}`]);
      config += host(`${name}-badport`, [`IdentityFile ${join(dir, 'client_key')}`, 'Port 2']);
      config += host(`${name}-nokey`, [`IdentityFile ${join(dir, 'no_such_key')}`]);
      config += host(`${name}-void`, [`IdentityFile ${join(dir, 'client_key')}`]).replace(
        `HostName ${address}`,
        `HostName 198.18.${k}.3`,
      );
      namespaces.push({
        name,
        alias: name,
        k,
        rootAddress,
        address,
        veth,
        sshdPid: sshd.pid,
        netnsId: run('readlink', [`/proc/${sshd.pid}/ns/net`]).trim(),
      });
    }
    const sshConfig = join(dir, 'ssh_config');
    writeFileSync(sshConfig, config);
    return { namespaces, sshConfig, dir, teardown };
  } catch (error) {
    teardown();
    throw error;
  }
}
