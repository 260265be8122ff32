import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, release, totalmem } from 'node:os';
import { supervisedCommand } from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';
import { execResultOf } from './exec-result.ts';
import { LeaderHost, type LeaderRouteOptions, startLeaderChild } from './leader-host.ts';
import { LEADER_PATH } from './protocol.ts';
import type { ExecResult, Host, HostFacts, ShellOptions } from './types.ts';

const NAME = 'local';

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

class LocalHost extends LeaderHost implements Host {
  readonly name = NAME;
  readonly kind = 'local' as const;
  readonly leaderCommand = [process.execPath, LEADER_PATH] as const;

  protected launch(leaderArgv: string[], logPath: string | undefined): Promise<{ child: ResultPromise }> {
    // pdeathsig: a SIGKILLed harness cannot clean up, so the kernel tells the leader instead.
    const command = supervisedCommand(process.execPath, [LEADER_PATH, ...leaderArgv], {
      deathSignal: 'TERM',
    });
    // Started here, not in a promise: a log file that cannot be opened makes spawn() throw.
    return Promise.resolve({ child: startLeaderChild(command, logPath) });
  }

  protected heartbeatMs(): undefined {
    return undefined;
  }

  protected route(): LeaderRouteOptions {
    return {
      startTimeoutMs: 20_000,
      forceKill: async (leaderChild, pid) => {
        if (leaderChild?.pid !== undefined) killQuietly(leaderChild.pid, 'SIGKILL');
        if (pid !== undefined) killQuietly(-pid, 'SIGKILL');
      },
    };
  }

  async shell(script: string, options: ShellOptions = {}): Promise<ExecResult> {
    if (options.input === undefined)
      return this.exec('/bin/sh', ['-c', script], { timeoutMs: options.timeoutMs ?? 15_000 });
    const result = await execa('/bin/sh', ['-c', script], {
      reject: false,
      input: options.input,
      timeout: options.timeoutMs ?? 15_000,
      forceKillAfterDelay: 1000,
      stripFinalNewline: false,
    });
    return execResultOf(result);
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
}

/** This machine; the default host. Each call gives an independent Host with its own processes. */
export function localHost(): Host {
  return new LocalHost();
}
