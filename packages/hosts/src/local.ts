import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, release, totalmem } from 'node:os';
import { supervisedCommand } from '@scaleup/core/io';
import { execa } from 'execa';
import { collect, LeaderProcess } from './process.ts';
import { LEADER_PATH, leaderArguments, newToken } from './protocol.ts';
import type { ExecOptions, ExecResult, Host, HostFacts, HostProcess, SpawnOptions } from './types.ts';

const NAME = 'local';

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

class LocalHost implements Host {
  readonly name = NAME;
  readonly kind = 'local' as const;
  readonly leaderCommand = [process.execPath, LEADER_PATH] as const;
  readonly #live = new Set<LeaderProcess>();
  #closing: Promise<void> | undefined;

  spawn(file: string, args: string[], options: SpawnOptions = {}): HostProcess {
    return this.#spawn(file, args, options, false);
  }

  #spawn(file: string, args: string[], options: SpawnOptions, capture: boolean): LeaderProcess {
    if (this.#closing !== undefined) throw new Error(`host ${NAME}: spawn after close()`);
    const token = newToken();
    const leader = leaderArguments({
      token,
      graceMs: options.graceMs ?? 5000,
      stdin: options.stdin === 'pipe',
      cwd: options.cwd,
      env: options.env,
      cpus: options.cpus,
    });
    // pdeathsig: a SIGKILLed harness cannot clean up, so the kernel tells the leader instead.
    const command = supervisedCommand(process.execPath, [LEADER_PATH, ...leader, file, ...args], {
      deathSignal: 'TERM',
    });
    // The command writes the log itself through this descriptor: nothing here copies its output.
    const logFd = options.logPath === undefined ? undefined : openSync(options.logPath, 'a');
    let child: ReturnType<typeof execa>;
    try {
      child = execa(command.file, command.args, {
        reject: false,
        buffer: false,
        stdin: 'pipe',
        // A descriptor number goes straight to spawn (execa's types only admit 3-9 here).
        stdout: (logFd ?? 'pipe') as 'pipe',
        stderr: 'pipe',
      });
    } finally {
      if (logFd !== undefined) closeSync(logFd);
    }
    const proc = new LeaderProcess(
      {
        hostName: NAME,
        kind: 'local',
        token,
        stdin: options.stdin === 'pipe',
        logPath: options.logPath,
        capture,
        startTimeoutMs: 20_000,
        forceKill: async (leaderChild, pid) => {
          if (leaderChild?.pid !== undefined) killQuietly(leaderChild.pid, 'SIGKILL');
          if (pid !== undefined) killQuietly(-pid, 'SIGKILL');
        },
      },
      Promise.resolve({ child }),
    );
    this.#live.add(proc);
    void proc.exited.then(() => this.#live.delete(proc));
    return proc;
  }

  exec(file: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const proc = this.#spawn(file, args, { cwd: options.cwd, graceMs: 1000 }, true);
    return collect(proc, options.timeoutMs ?? 30_000, NAME);
  }

  shell(script: string, options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.exec('/bin/sh', ['-c', script], { timeoutMs: options.timeoutMs ?? 15_000 });
  }

  async readFile(path: string): Promise<string | null> {
    try {
      return await readFile(path, 'utf8');
    } catch {
      return null;
    }
  }

  async describe(): Promise<HostFacts> {
    const memInfo = await this.readFile('/proc/meminfo');
    const memKb = memInfo === null ? undefined : /^MemTotal:\s+(\d+) kB/m.exec(memInfo)?.[1];
    return {
      name: NAME,
      kind: 'local',
      hostname: hostname(),
      cpuModel: cpus()[0]?.model.trim() ?? null,
      logicalCores: availableParallelism(),
      kernel: release(),
      memoryBytes: memKb === undefined ? totalmem() : Number(memKb) * 1024,
      nodeVersion: process.version,
      clockOffsetMs: null,
      clockUncertaintyMs: null,
      clientAddress: null,
      clientPort: null,
      serverAddress: null,
      serverPort: null,
    };
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#live].map((proc) => proc.stop(2000))).then(() => {});
    return this.#closing;
  }
}

/** This machine; the default host. Each call gives an independent Host with its own processes. */
export function localHost(): Host {
  return new LocalHost();
}
