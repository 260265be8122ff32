import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destinationProblem } from '@scaleup/core';
import { supervisedCommand } from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';
import { execResultOf } from './exec-result.ts';
import { LeaderHost, type LeaderRouteOptions, startLeaderChild } from './leader-host.ts';
import { LEADER_IN_CHECKOUT, REPO_DIR } from './protocol.ts';
import { remoteCommandLine, shellQuote } from './quote.ts';
import { pause, within } from './time.ts';
import type { ExecResult, Host, HostFacts, ShellOptions } from './types.ts';

export interface SshHostOptions {
  /** An ssh config file (`ssh -F`); without it the user's own ~/.ssh/config applies. */
  sshConfig?: string;
  /** The scaleup checkout on the remote host (default: this checkout's absolute path). */
  remoteDir?: string;
  /** Node on the remote host (default: `node` on the remote PATH of a non-interactive shell). */
  remoteNode?: string;
  /** ssh ConnectTimeout (default 10). */
  connectTimeoutSeconds?: number;
  /**
   * ssh ServerAliveInterval and ServerAliveCountMax (default 1 and 3): a silent link is noticed
   * here after about interval x (count + 1) seconds and every process on the host reports
   * `lostConnection`.
   */
  aliveIntervalSeconds?: number;
  aliveCountMax?: number;
  /**
   * The remote side's own deadline (default 5000; 0 = off): the group leader stops the group
   * when no frame has come from here for this long. It does not depend on the server's
   * ClientAliveInterval, which is off by default in sshd, where a cut link would otherwise leave
   * the command running until TCP gives up (minutes to hours).
   */
  heartbeatTimeoutMs?: number;
  /** One multiplexed connection for every call (default true). */
  multiplex?: boolean;
}

/** Control directories carry the owner's pid, so a later run can remove those of a SIGKILLed one. */
const CONTROL_DIR_PREFIX = 'scaleup-ssh-';

function ownerAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Removes control directories whose owner is gone (its master died with it, by pdeathsig). */
export function sweepControlDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const entry of entries) {
    const owner = new RegExp(`^${CONTROL_DIR_PREFIX}(\\d+)-`).exec(entry)?.[1];
    if (owner !== undefined && Number(owner) !== process.pid && !ownerAlive(Number(owner)))
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

function lastLine(text: string): string | undefined {
  return text.trim().split('\n').filter(Boolean).at(-1);
}

/** `date +%s%N` gives ns; an unexpanded %N (BSD date) gives no usable number. */
function parseRemoteNanos(text: string): number | null {
  const trimmed = text.trim();
  return /^\d{16,}$/.test(trimmed) ? Number(BigInt(trimmed) / 1000n) / 1000 : null;
}

class SshHost extends LeaderHost implements Host {
  readonly kind = 'ssh' as const;
  readonly name: string;
  #leaderCommand: readonly [string, string];
  readonly #options: Required<Omit<SshHostOptions, 'sshConfig'>> & { sshConfig: string | undefined };
  #controlDir: string | undefined;
  #master: ResultPromise | undefined;
  #masterStarting: Promise<void> | undefined;
  #masterError: string | undefined;

  constructor(destination: string, options: SshHostOptions) {
    super();
    const problem = destinationProblem(destination);
    if (problem !== null)
      throw new Error(`not an ssh destination: ${JSON.stringify(destination)}: ${problem}`);
    this.name = destination;
    this.#options = {
      sshConfig: options.sshConfig,
      remoteDir: (options.remoteDir ?? REPO_DIR).replace(/\/+$/, ''),
      remoteNode: options.remoteNode ?? 'node',
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 10,
      aliveIntervalSeconds: options.aliveIntervalSeconds ?? 1,
      aliveCountMax: options.aliveCountMax ?? 3,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 5000,
      multiplex: options.multiplex ?? true,
    };
    this.#leaderCommand = [this.#options.remoteNode, `${this.#options.remoteDir}/${LEADER_IN_CHECKOUT}`];
  }

  get leaderCommand(): readonly [string, string] {
    return this.#leaderCommand;
  }

  /** Runs the group leader from a bundle shipped to the host instead of from a checkout there. */
  useLeaderAt(path: string): void {
    this.#leaderCommand = [this.#options.remoteNode, path];
  }

  /** The control socket of the multiplexed connection (for diagnostics and tests). */
  get controlPath(): string | undefined {
    return this.#controlDir === undefined ? undefined : join(this.#controlDir, 'c');
  }

  /** Why the multiplexed connection could not be made the last time, when it could not. */
  get masterError(): string | undefined {
    return this.#masterError;
  }

  #sshArgs(role: 'master' | 'client'): string[] {
    const o = this.#options;
    const args = o.sshConfig === undefined ? [] : ['-F', o.sshConfig];
    args.push(
      '-T',
      '-o',
      'BatchMode=yes',
      '-o',
      `ConnectTimeout=${o.connectTimeoutSeconds}`,
      '-o',
      `ServerAliveInterval=${o.aliveIntervalSeconds}`,
      '-o',
      `ServerAliveCountMax=${o.aliveCountMax}`,
    );
    const controlPath = this.controlPath;
    if (o.multiplex && controlPath !== undefined) {
      // A client finds the master through the socket, or connects on its own when it is gone.
      args.push(
        '-o',
        `ControlPath=${controlPath}`,
        '-o',
        `ControlMaster=${role === 'master' ? 'yes' : 'no'}`,
      );
      // The master stays in the foreground as our child: ControlPersist's would detach to init
      // and outlive a SIGKILLed harness.
      if (role === 'master') args.push('-o', 'ControlPersist=no');
    }
    return args;
  }

  #masterAlive(): boolean {
    const master = this.#master;
    const path = this.controlPath;
    return (
      master !== undefined &&
      master.exitCode === null &&
      master.signalCode === null &&
      path !== undefined &&
      existsSync(path)
    );
  }

  /** Makes (or remakes, after a drop) the multiplexed connection; never throws, bounded. */
  #ensureMaster(): Promise<void> {
    if (!this.#options.multiplex || this.closing || this.#masterAlive()) return Promise.resolve();
    this.#masterStarting ??= this.#startMaster().finally(() => {
      this.#masterStarting = undefined;
    });
    return this.#masterStarting;
  }

  async #startMaster(): Promise<void> {
    if (this.#controlDir === undefined) {
      sweepControlDirs();
      this.#controlDir = mkdtempSync(join(tmpdir(), `${CONTROL_DIR_PREFIX}${process.pid}-`));
    }
    const path = this.controlPath!;
    this.#master?.kill('SIGKILL');
    rmSync(path, { force: true });
    const command = supervisedCommand('ssh', [...this.#sshArgs('master'), '-N', '--', this.name], {
      deathSignal: 'TERM',
    });
    const master = execa(command.file, command.args, {
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
    });
    this.#master = master;
    let stderr = '';
    master.stderr?.setEncoding('utf8');
    master.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    const deadline = Date.now() + (this.#options.connectTimeoutSeconds + 5) * 1000;
    for (;;) {
      if (existsSync(path)) {
        this.#masterError = undefined;
        return;
      }
      if (master.exitCode !== null || master.signalCode !== null) {
        this.#masterError = `ssh master connection ended: ${lastLine(stderr) ?? `exit ${master.exitCode}`}`;
        return;
      }
      if (Date.now() >= deadline) {
        this.#masterError = `ssh master connection not up within ${this.#options.connectTimeoutSeconds + 5} s`;
        master.kill('SIGKILL');
        return;
      }
      await pause(20);
    }
  }

  /** Runs one remote command line without the group leader, bounded; for probes only. */
  async #raw(remote: string, timeoutMs: number, input?: string | Uint8Array): Promise<ExecResult> {
    const deadline = Date.now() + timeoutMs;
    await within(this.#ensureMaster(), timeoutMs / 2);
    const command = supervisedCommand('ssh', [...this.#sshArgs('client'), '--', this.name, remote], {
      deathSignal: 'KILL',
    });
    const result = await execa(command.file, command.args, {
      reject: false,
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
      timeout: Math.max(500, deadline - Date.now()),
      forceKillAfterDelay: 1000,
      stripFinalNewline: false,
    });
    return execResultOf(result);
  }

  protected launch(leaderArgv: string[], logPath: string | undefined): Promise<{ child: ResultPromise }> {
    const remote = remoteCommandLine([...this.leaderCommand, ...leaderArgv]);
    return (async () => {
      await within(this.#ensureMaster(), (this.#options.connectTimeoutSeconds + 5) * 1000);
      const command = supervisedCommand('ssh', [...this.#sshArgs('client'), '--', this.name, remote], {
        deathSignal: 'TERM',
      });
      // With a log file, the ssh client writes the command's output there itself.
      return { child: startLeaderChild(command, logPath) };
    })();
  }

  protected heartbeatMs(): number {
    return this.#options.heartbeatTimeoutMs;
  }

  protected route(): LeaderRouteOptions {
    const o = this.#options;
    return {
      heartbeatEveryMs: o.heartbeatTimeoutMs > 0 ? Math.max(200, o.heartbeatTimeoutMs / 5) : 0,
      startTimeoutMs: (o.connectTimeoutSeconds + 20) * 1000,
      forceKill: async (client, pid) => {
        // Without its client the remote leader sees its stdin close and stops the group itself;
        // the direct kill is for a leader too wedged to do so.
        client?.kill('SIGKILL');
        if (pid !== undefined) await this.#raw(`kill -KILL -- -${pid} 2>/dev/null`, 5000).catch(() => {});
      },
    };
  }

  shell(script: string, options: ShellOptions = {}): Promise<ExecResult> {
    return this.#raw(
      remoteCommandLine(['/bin/sh', '-c', script]),
      options.timeoutMs ?? 15_000,
      options.input,
    );
  }

  async readFile(path: string): Promise<string | null> {
    const result = await this.#raw(remoteCommandLine(['cat', '--', path]), 15_000);
    if (result.exitCode === 0) return result.stdout;
    if (result.timedOut || result.exitCode === 255 || result.exitCode === null)
      throw new Error(
        `host ${this.name}: cannot read ${path}: ${result.timedOut ? 'no answer within 15000 ms' : (lastLine(result.stderr) ?? 'ssh failed')}`,
      );
    return null;
  }

  async describe(): Promise<HostFacts> {
    const node = shellQuote(this.#options.remoteNode);
    const script = [
      `printf 'hostname\\t%s\\n' "$(uname -n)"`,
      `printf 'kernel\\t%s\\n' "$(uname -r)"`,
      `printf 'cores\\t%s\\n' "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"`,
      `printf 'cpu\\t%s\\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"`,
      `printf 'mem\\t%s\\n' "$(sed -n 's/^MemTotal:[[:space:]]*\\([0-9]*\\) kB/\\1/p' /proc/meminfo 2>/dev/null)"`,
      `printf 'node\\t%s\\n' "$(${node} -v 2>/dev/null)"`,
      `printf 'connection\\t%s\\n' "$SSH_CONNECTION"`,
    ].join('\n');
    const result = await this.shell(script, { timeoutMs: 20_000 });
    if (result.exitCode !== 0)
      throw new Error(
        `host ${this.name}: cannot describe: ${result.timedOut ? 'no answer within 20000 ms' : (lastLine(result.stderr) ?? `exit ${result.exitCode}`)}`,
      );
    const facts = new Map<string, string>();
    for (const line of result.stdout.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab > 0) facts.set(line.slice(0, tab), line.slice(tab + 1).trim());
    }
    const text = (key: string) => (facts.get(key) ? facts.get(key)! : null);
    const number = (key: string) =>
      text(key) === null || Number.isNaN(Number(text(key))) ? null : Number(text(key));
    const [clientAddress, clientPort, serverAddress, serverPort] = (text('connection') ?? '').split(' ');
    const clock = await this.#clockOffset();
    const mem = number('mem');
    return {
      name: this.name,
      kind: 'ssh',
      hostname: text('hostname') ?? this.name,
      cpuModel: text('cpu'),
      logicalCores: number('cores'),
      kernel: text('kernel'),
      memoryBytes: mem === null ? null : mem * 1024,
      nodeVersion: text('node'),
      clockOffsetMs: clock?.offsetMs ?? null,
      clockUncertaintyMs: clock?.uncertaintyMs ?? null,
      clientAddress: clientAddress || null,
      clientPort: clientPort ? Number(clientPort) : null,
      serverAddress: serverAddress || null,
      serverPort: serverPort ? Number(serverPort) : null,
    };
  }

  /**
   * The remote clock read between two local readings: the true offset lies within half the
   * round trip of the midpoint, so the sample with the shortest round trip is the tightest. The
   * samples go over one open session, so the remote login shell's start-up (0.2 s here, pyenv in
   * .bashrc) is not part of any round trip.
   */
  async #clockOffset(): Promise<{ offsetMs: number; uncertaintyMs: number } | null> {
    await within(this.#ensureMaster(), 5000);
    const remote = remoteCommandLine(['/bin/sh', '-c', 'while read -r _; do date +%s%N; done']);
    const command = supervisedCommand('ssh', [...this.#sshArgs('client'), '--', this.name, remote], {
      deathSignal: 'KILL',
    });
    const child = execa(command.file, command.args, {
      reject: false,
      buffer: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'ignore',
    });
    child.stdin?.on('error', () => {});
    const waiting: ((line: string | null) => void)[] = [];
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
        waiting.shift()?.(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
    });
    child.once('exit', () => {
      for (const wake of waiting.splice(0)) wake(null);
    });
    const now = () => performance.timeOrigin + performance.now();
    let best: { offsetMs: number; uncertaintyMs: number } | null = null;
    try {
      for (let i = 0; i < 7; i++) {
        const answer = new Promise<string | null>((resolve) => waiting.push(resolve));
        const before = now();
        child.stdin?.write('\n');
        const line = await within(answer, 5000).then((line) => (line === 'late' ? null : line));
        const after = now();
        const remoteMs = line === null ? null : parseRemoteNanos(line);
        if (remoteMs === null) break;
        const sample = { offsetMs: remoteMs - (before + after) / 2, uncertaintyMs: (after - before) / 2 };
        if (best === null || sample.uncertaintyMs < best.uncertaintyMs) best = sample;
      }
    } finally {
      child.stdin?.end();
      child.kill('SIGKILL');
    }
    return best;
  }

  /** After the last process: the multiplexed connection ends and its control directory goes. */
  protected override async afterClose(): Promise<void> {
    const master = this.#master;
    if (master !== undefined && master.exitCode === null && master.signalCode === null) {
      const gone = new Promise<void>((resolve) => master.once('exit', () => resolve()));
      master.kill('SIGTERM');
      if ((await within(gone, 3000)) === 'late') master.kill('SIGKILL');
    }
    if (this.#controlDir !== undefined) rmSync(this.#controlDir, { recursive: true, force: true });
  }
}

/** A host reached with the user's own OpenSSH client (their config, keys, agent and jump hosts). */
export function sshHost(destination: string, options: SshHostOptions = {}): SshHost {
  return new SshHost(destination, options);
}

export type { SshHost };
