import type { EventEmitter } from 'node:events';

export interface SpawnOptions {
  /** Working directory on the host. */
  cwd?: string;
  /** Added to the host's own environment (the remote one for ssh, not this process's). */
  env?: Record<string, string>;
  /** CPUs to pin the command to, with taskset on the host. */
  cpus?: number[];
  /**
   * A file on THIS machine the output is appended to. stdout goes there directly (locally the
   * command writes the file itself; over ssh the ssh client does), so `stdout` emits no lines;
   * stderr lines are appended by this process and still emitted.
   */
  logPath?: string;
  /** 'pipe' lets `write()` reach the command's stdin; the default gives it /dev/null. */
  stdin?: 'pipe' | 'ignore';
  /** TERM-to-KILL grace the group leader uses when it stops the group on its own (default 5000). */
  graceMs?: number;
}

export interface ExecOptions {
  /** Deadline for the whole command, connection included (default 30 000). */
  timeoutMs?: number;
  cwd?: string;
}

export interface ShellOptions {
  timeoutMs?: number;
  /** The script's stdin (e.g. files to install there); /dev/null without it. */
  input?: string | Uint8Array;
}

export interface ExecResult {
  /** null when the command was stopped for the timeout or the connection was lost. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
  /** ssh only: the connection ended before the group leader reported the command's end. */
  lostConnection: boolean;
  /** Why the host could not run or follow the command, when it could not; null otherwise. */
  error: string | null;
}

/** Output of one stream, split into lines (without the newline). Lines with no listener are dropped. */
export interface Lines extends EventEmitter {
  on(event: 'line', listener: (line: string) => void): this;
  once(event: 'line', listener: (line: string) => void): this;
  off(event: 'line', listener: (line: string) => void): this;
}

export interface HostProcess {
  /** The pid ON ITS HOST of the command itself; undefined until the group leader reported it. */
  readonly pid: number | undefined;
  /** The pid reported by the group leader; rejects when the command never started. */
  readonly started: Promise<number>;
  /** The local process this runs through: the group leader locally, the ssh client for ssh. */
  readonly clientPid: number | undefined;
  /** Resolves when the group leader has exited (locally) or the ssh client has; never rejects. */
  readonly exited: Promise<ProcessExit>;
  /** stdout lines (none when `logPath` is set) and stderr lines, control messages removed. */
  readonly stdout: Lines;
  readonly stderr: Lines;
  /** Text for the command's stdin; only with `stdin: 'pipe'`. */
  write(text: string): void;
  /** TERM the whole process group, KILL after `graceMs` (default 5000); resolves when the leader is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface HostFacts {
  name: string;
  kind: 'local' | 'ssh';
  hostname: string;
  cpuModel: string | null;
  logicalCores: number | null;
  kernel: string | null;
  memoryBytes: number | null;
  /** null when node is not on the host's PATH. */
  nodeVersion: string | null;
  /** ssh only: the host's clock minus this machine's, in ms, and its bound (half the best round trip). */
  clockOffsetMs: number | null;
  clockUncertaintyMs: number | null;
  /** ssh only, from SSH_CONNECTION: this machine's address as the host sees it, and the host's own. */
  clientAddress: string | null;
  clientPort: number | null;
  serverAddress: string | null;
  serverPort: number | null;
}

export interface Host {
  /** 'local' or the ssh destination as given. */
  readonly name: string;
  readonly kind: 'local' | 'ssh';
  /** How the group leader is started there: [node, path of group-leader.mjs]. */
  readonly leaderCommand: readonly [string, string];
  /** Runs the group leader from `path` on the host from now on (a shipped bundle's copy). */
  useLeaderAt?(path: string): void;
  /**
   * Starts a supervised command; its WHOLE process group dies when stop() is called, when this
   * process dies (even by SIGKILL), and for ssh when the connection drops.
   */
  spawn(file: string, args: string[], options?: SpawnOptions): HostProcess;
  /** A short command to completion, bounded by timeoutMs; never throws for a non-zero exit. */
  exec(file: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * A POSIX sh script run without the group leader, for probes that must work where there is no
   * checkout (preflight, facts). Bounded by timeoutMs (default 15 000); never throws for a
   * non-zero exit.
   */
  shell(script: string, options?: ShellOptions): Promise<ExecResult>;
  /** A file's text (e.g. /proc/<pid>/stat), or null when absent or unreadable. */
  readFile(path: string): Promise<string | null>;
  /** Facts to record about the host. */
  describe(): Promise<HostFacts>;
  /** Stops everything this Host started and closes its connection; idempotent. */
  close(): Promise<void>;
}
