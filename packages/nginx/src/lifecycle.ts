import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@scaleup/core';
import {
  allocatePort,
  allowedCpus,
  childPids,
  httpGet,
  isAlive,
  isPortFree,
  supervisedCommand,
  waitFor,
} from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';
import { type NginxConfigOptions, type NginxSettings, renderNginxConfig } from './config.ts';
import { detectNginx } from './detect.ts';
import { NginxError, type NginxFailureStage } from './errors.ts';
import { defaultWorkerUser, readNofileHardLimit, tailFile, versionAtLeast } from './system.ts';

export interface StartNginxOptions
  extends Omit<NginxConfigOptions, 'prefix' | 'port' | 'user' | 'nofileLimit'> {
  /** Default: a free port the kernel picks. */
  port?: number | undefined;
  /** Default: detected (PATH, then /usr/sbin/nginx ...). */
  nginxPath?: string | undefined;
  /**
   * Account for the workers when running as root. Default: www-data, else nobody. Must be left
   * unset as an ordinary user: nginx cannot switch users then.
   */
  user?: { name: string; group: string } | undefined;
  /** Parent of the private prefix. Default: the OS temp directory. */
  tempDir?: string | undefined;
  /** Deadline for nginx to answer with the payload. Default 10 s (a failed bind alone takes 2.5 s). */
  readyTimeoutMs?: number | undefined;
  /** After SIGQUIT (graceful), wait this long before SIGTERM. Default 5 s. */
  quitTimeoutMs?: number | undefined;
  /** After SIGTERM (fast), wait this long before SIGKILL. Default 3 s. */
  termTimeoutMs?: number | undefined;
  /** Keep the prefix (config, error log) when nginx fails, and name it in the error. Default true. */
  keepPrefixOnFailure?: boolean | undefined;
  /**
   * A file to copy nginx's error log to when it stops or fails, so a run's logs outlive the
   * prefix (e.g. into the results directory).
   */
  keepErrorLogAt?: string | undefined;
}

export interface NginxExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface NginxStopReport {
  /** The signal that ended the master, or 'exited' when it was already gone. */
  stoppedBy: 'QUIT' | 'TERM' | 'KILL' | 'exited';
  durationMs: number;
  /** [alert], [crit] and [emerg] lines nginx logged during the run: a run with any is suspect. */
  errorLogProblems: string[];
}

export interface RunningNginx {
  url: string;
  host: string;
  port: number;
  prefix: string;
  configPath: string;
  errorLogPath: string;
  /** The config as written, for a report appendix. */
  configText: string;
  settings: NginxSettings;
  nginxPath: string;
  version: string;
  /** Warnings nginx printed while testing the config (e.g. about open file limits). */
  configWarnings: string[];
  masterPid: number;
  /** Workers as seen when nginx became ready. */
  initialWorkerPids: number[];
  /** Current workers (children of the master), for CPU sampling. */
  workerPids(): Promise<number[]>;
  /** Settles when the master exits, for whatever reason. */
  exited: Promise<NginxExit>;
  /** Whether the master has exited. */
  hasExited(): boolean;
  errorLogTail(lines?: number): Promise<string>;
  /** Graceful, then fast, then forced; then checks the port is free and removes the prefix. Idempotent. */
  stop(): Promise<NginxStopReport>;
}

const STDERR_KEEP_BYTES = 16 * 1024;
/** `-e` (the log used before the config is read) exists from nginx 1.19.5. */
const EARLY_ERROR_LOG_SINCE = '1.19.5';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` settles within `ms`; the timer is cleared so it never holds the process open. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function isNginxProcess(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).startsWith('nginx:');
  } catch {
    return false;
  }
}

async function allGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await Promise.all(pids.map((pid) => isAlive(pid)));
    if (!alive.includes(true)) return true;
    if (Date.now() >= deadline) return false;
    await delay(25);
  }
}

/**
 * The error log's lines minus what nginx already printed on stderr (with -e the log repeats it)
 * and minus repeats: a failing probe logs the same complaint once per request. At most `max`.
 */
function distinctLogLines(log: string, alreadyShown: string, max = 10): string[] {
  const counts = new Map<string, { line: string; count: number }>();
  for (const line of log.split('\n')) {
    const message = line.replace(/^.*?\[\w+\] \d+#\d+: /, '');
    if (line === '' || alreadyShown.includes(message)) continue;
    const key = message.replace(/^\*\d+ /, '');
    const seen = counts.get(key);
    if (seen) seen.count++;
    else counts.set(key, { line, count: 1 });
  }
  return [...counts.values()]
    .slice(-max)
    .map(({ line, count }) => (count > 1 ? `${line} (${count} times)` : line));
}

function problemLines(log: string): string[] {
  return log.split('\n').filter((line) => /\[(alert|crit|emerg)\]/.test(line));
}

function prettyHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function writeLayout(prefix: string, rendered: ReturnType<typeof renderNginxConfig>, asRoot: boolean) {
  // Workers run as another account when the master is root; mkdtemp's 0700 would lock them out.
  await chmod(prefix, asRoot ? 0o755 : 0o700);
  for (const entry of rendered.layout) {
    const path = join(prefix, entry.path);
    if (entry.kind === 'dir') {
      await mkdir(path, { recursive: true });
      await chmod(path, 0o755);
    } else {
      await writeFile(path, entry.content);
      await chmod(path, 0o644);
    }
  }
}

/**
 * Runs a real nginx in the foreground under supervision: validated with `nginx -t`, started with
 * `setpriv --pdeathsig=TERM` (so it stops even when the caller is SIGKILLed), optionally pinned with
 * taskset, and ready only once it serves the exact payload. Any failure stops what was started and
 * throws a NginxError holding nginx's own message.
 */
export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && options.user !== undefined) {
    throw new UsageError('a worker user can only be set when running as root (nginx ignores it otherwise)');
  }
  const badCpus = (options.cpus ?? []).filter((cpu) => !allowedCpus().includes(cpu));
  if (badCpus.length > 0) {
    throw new UsageError(
      `cpus ${badCpus.join(',')} are not among the allowed CPUs ${allowedCpus().join(',')}`,
    );
  }
  const detection = await detectNginx({ path: options.nginxPath });
  if (!detection.ok)
    throw new NginxError(`${detection.reason}; ${detection.installHint}`, { stage: 'start' });
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await allocatePort(host));
  const user = asRoot ? (options.user ?? (await defaultWorkerUser())) : undefined;
  const keepOnFailure = options.keepPrefixOnFailure ?? true;

  const prefix = await mkdtemp(join(options.tempDir ?? tmpdir(), 'scaleup-nginx-'));
  let rendered: ReturnType<typeof renderNginxConfig>;
  try {
    rendered = renderNginxConfig({
      ...options,
      prefix,
      host,
      port,
      user,
      nofileLimit: await readNofileHardLimit(),
    });
    await writeLayout(prefix, rendered, asRoot);
  } catch (error) {
    await rm(prefix, { recursive: true, force: true });
    throw error;
  }
  const { settings } = rendered;
  const errorLogPath = settings.errorLog;
  const configPath = settings.configPath;
  const baseArgs = ['-p', `${prefix}/`, '-c', configPath];
  if (versionAtLeast(detection.version, EARLY_ERROR_LOG_SINCE)) baseArgs.push('-e', errorLogPath);

  const saveErrorLog = async () => {
    if (options.keepErrorLogAt) await copyFile(errorLogPath, options.keepErrorLogAt).catch(() => {});
  };

  const fail = async (stage: NginxFailureStage, message: string, nginxMessage?: string): Promise<never> => {
    const errorLogTail = await tailFile(errorLogPath, 200);
    await saveErrorLog();
    if (!keepOnFailure) await rm(prefix, { recursive: true, force: true });
    const kept = keepOnFailure ? `; config and error log kept in ${prefix}` : '';
    const parts = [message];
    if (nginxMessage?.trim()) parts.push(`nginx said:\n${nginxMessage.trim()}`);
    const logOnly = distinctLogLines(errorLogTail, nginxMessage ?? '');
    if (logOnly.length > 0) parts.push(`error log (${errorLogPath}):\n${logOnly.join('\n')}`);
    throw new NginxError(`${parts.join('\n')}${kept}`, {
      stage,
      nginxMessage,
      errorLogPath,
      errorLogTail,
      prefix: keepOnFailure ? prefix : null,
      configPath,
    });
  };

  // nginx -t reads the config exactly as the real start will, and says what is wrong in its own words.
  const test = await execa(detection.path, ['-t', ...baseArgs], {
    reject: false,
    all: true,
    timeout: 30_000,
  });
  const testOutput = test.all ?? '';
  if (test.exitCode !== 0) {
    return fail('validate', `nginx rejected the config ${configPath}`, testOutput || test.shortMessage);
  }
  const configWarnings = testOutput.split('\n').filter((line) => line.includes('[warn]'));

  const command = supervisedCommand(detection.path, baseArgs, { cpus: options.cpus, deathSignal: 'TERM' });
  let stderrText = '';
  let subprocess: ResultPromise;
  try {
    subprocess = execa(command.file, command.args, {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      // Its own process group: a Ctrl-C meant for the harness must not skip the graceful stop.
      detached: true,
      cleanup: false,
      forceKillAfterDelay: false,
    });
  } catch (error) {
    return fail(
      'start',
      `could not run ${command.file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  subprocess.stderr?.on('data', (chunk: Buffer) => {
    stderrText = (stderrText + chunk.toString('utf8')).slice(-STDERR_KEEP_BYTES);
  });
  const masterPid = subprocess.pid;
  let exitedFlag = false;
  const exited: Promise<NginxExit> = subprocess.then(
    (result) => {
      exitedFlag = true;
      return { exitCode: result.exitCode, signal: result.signal };
    },
    () => {
      exitedFlag = true;
      return { exitCode: undefined, signal: undefined };
    },
  );
  if (masterPid === undefined) {
    await exited;
    return fail('start', `could not start ${detection.path}`, stderrText);
  }

  const workerPids = async () => childPids(masterPid);
  const seenWorkers = new Set<number>();
  const url = `http://${prettyHost(host)}:${port}/`;

  const forceStop = async () => {
    for (const pid of await workerPids()) seenWorkers.add(pid);
    signal(masterPid, 'SIGTERM');
    const done = await settlesWithin(exited, options.termTimeoutMs ?? 3000);
    if (!done) signal(masterPid, 'SIGKILL');
    await exited;
    await killLeftoverWorkers([...seenWorkers]);
  };

  let initialWorkerPids: number[];
  try {
    const expected = settings.payloadBytes;
    const outcome = await waitFor<number[] | 'exited' | { wrongAnswer: string }>(
      async () => {
        if (exitedFlag) return 'exited';
        // nginx writes its pid file only after it has bound the listening sockets: the answer below
        // then comes from this nginx, not from something else that holds the port.
        const pidText = await readFile(settings.pidFile, 'utf8').catch(() => '');
        if (Number(pidText.trim()) !== masterPid) return undefined;
        const response = await httpGet(url, 1000);
        // A wrong answer from this nginx will not fix itself: fail now rather than at the deadline.
        if (response.status !== 200) return { wrongAnswer: `status ${response.status} from ${url}` };
        if (response.body.length !== expected) {
          return { wrongAnswer: `body of ${response.body.length} bytes from ${url}, expected ${expected}` };
        }
        if (expected > 0 && response.body.toString('latin1') !== '*'.repeat(expected)) {
          return { wrongAnswer: `body from ${url} is not ${expected} bytes of '*'` };
        }
        const workers = await workerPids();
        for (const pid of workers) seenWorkers.add(pid);
        return workers.length >= settings.workerProcesses ? workers : undefined;
      },
      { timeoutMs: options.readyTimeoutMs ?? 10_000, intervalMs: 50, what: `nginx to serve ${url}` },
    );
    if (outcome === 'exited') {
      const exit = await exited;
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.exitCode}`;
      await killLeftoverWorkers([...seenWorkers]);
      return await fail('start', `nginx exited during startup (${how})`, stderrText);
    }
    if (!Array.isArray(outcome)) {
      await forceStop();
      return await fail('ready', `nginx answered wrongly: ${outcome.wrongAnswer}`, stderrText);
    }
    initialWorkerPids = outcome;
  } catch (error) {
    if (error instanceof NginxError) throw error;
    await forceStop();
    return fail(
      'ready',
      `nginx did not become ready: ${error instanceof Error ? error.message : String(error)}`,
      stderrText,
    );
  }

  let stopping: Promise<NginxStopReport> | undefined;
  const stop = (): Promise<NginxStopReport> => {
    stopping ??= (async () => {
      const started = Date.now();
      const diedOnItsOwn = exitedFlag;
      let stoppedBy: NginxStopReport['stoppedBy'] = 'exited';
      if (!exitedFlag) {
        for (const pid of await workerPids()) seenWorkers.add(pid);
        signal(masterPid, 'SIGQUIT');
        stoppedBy = 'QUIT';
        if (!(await settlesWithin(exited, options.quitTimeoutMs ?? 5000))) {
          signal(masterPid, 'SIGTERM');
          stoppedBy = 'TERM';
          if (!(await settlesWithin(exited, options.termTimeoutMs ?? 3000))) {
            signal(masterPid, 'SIGKILL');
            stoppedBy = 'KILL';
            await exited;
          }
        }
      }
      const leftovers = await killLeftoverWorkers([...seenWorkers]);
      const portFree = await waitFor(async () => ((await isPortFree(port, host)) ? true : undefined), {
        timeoutMs: 5000,
        what: `port ${port} to be free`,
      }).catch(() => false);
      const log = await readFile(errorLogPath, 'utf8').catch(() => '');
      const errorLogProblems = problemLines(log);
      await saveErrorLog();
      const keep = diedOnItsOwn || !portFree || leftovers.length > 0;
      if (!keep) await rm(prefix, { recursive: true, force: true });
      if (diedOnItsOwn) {
        const exit = await exited;
        const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.exitCode}`;
        const tail = log.trimEnd().split('\n').slice(-30).join('\n');
        throw new NginxError(
          `nginx exited on its own during the run (${how})${tail ? `; error log:\n${tail}` : ''}\nkept ${prefix}`,
          { stage: 'run', errorLogPath, errorLogTail: tail, nginxMessage: stderrText, prefix, configPath },
        );
      }
      if (leftovers.length > 0 || !portFree) {
        const what =
          leftovers.length > 0
            ? `workers ${leftovers.join(', ')} survived SIGKILL`
            : `port ${port} still busy`;
        throw new NginxError(`nginx did not stop cleanly: ${what}; kept ${prefix}`, {
          stage: 'stop',
          errorLogPath,
          prefix,
          configPath,
        });
      }
      return { stoppedBy, durationMs: Date.now() - started, errorLogProblems };
    })();
    return stopping;
  };

  return {
    url,
    host,
    port,
    prefix,
    configPath,
    errorLogPath,
    configText: rendered.text,
    settings,
    nginxPath: detection.path,
    version: detection.version,
    configWarnings,
    masterPid,
    initialWorkerPids,
    workerPids,
    exited,
    hasExited: () => exitedFlag,
    errorLogTail: (lines = 20) => tailFile(errorLogPath, lines),
    stop,
  };
}

/**
 * A master that was SIGKILLed leaves its workers running (they are not told). Kill those still
 * alive, checking each pid is still an nginx process so a reused pid is never hit.
 * Returns the pids that would not die.
 */
async function killLeftoverWorkers(pids: readonly number[]): Promise<number[]> {
  if (await allGone(pids, 2000)) return [];
  for (const pid of pids) {
    if ((await isAlive(pid)) && (await isNginxProcess(pid))) signal(pid, 'SIGKILL');
  }
  if (await allGone(pids, 2000)) return [];
  const alive: number[] = [];
  for (const pid of pids) if (await isAlive(pid)) alive.push(pid);
  return alive;
}
