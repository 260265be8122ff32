import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@scaleup/core';
import { allocatePort, allowedCpus, httpGet, isPortFree, supervisedCommand, waitFor } from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';
import {
  type NginxConfigOptions,
  type NginxSettings,
  type RenderedNginxConfig,
  renderNginxConfig,
} from './config.ts';
import { detectNginx, type NginxFound } from './detect.ts';
import { NginxError, type NginxFailureStage } from './errors.ts';
import { type NginxExit, NginxMaster, watchSubprocess } from './master-process.ts';
import { defaultWorkerUser, readNofileHardLimit, tailFile, versionAtLeast } from './system.ts';

export type { NginxExit } from './master-process.ts';

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

/** `-e` (the log used before the config is read) exists from nginx 1.19.5. */
const EARLY_ERROR_LOG_SINCE = '1.19.5';

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

function describeExit(exit: NginxExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.exitCode}`;
}

async function writeLayout(prefix: string, rendered: RenderedNginxConfig, asRoot: boolean) {
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

/** A private nginx prefix holding the rendered config, and how to run nginx on it. */
interface Prefix {
  dir: string;
  host: string;
  port: number;
  url: string;
  rendered: RenderedNginxConfig;
  settings: NginxSettings;
  configPath: string;
  errorLogPath: string;
  /** `-p`, `-c` and (where nginx has it) `-e`: the same for `nginx -t` and the real start. */
  args: string[];
  /** Copies the error log to keepErrorLogAt, if asked. */
  saveErrorLog(): Promise<void>;
}

/** Throws the NginxError for a failed start, with nginx's words and the log lines they omit. */
type Fail = (stage: NginxFailureStage, message: string, nginxMessage?: string) => Promise<never>;

/** Step 1: refuse what cannot work before anything is started. */
function refuseImpossible(options: StartNginxOptions, asRoot: boolean): void {
  if (!asRoot && options.user !== undefined) {
    throw new UsageError('a worker user can only be set when running as root (nginx ignores it otherwise)');
  }
  const badCpus = (options.cpus ?? []).filter((cpu) => !allowedCpus().includes(cpu));
  if (badCpus.length > 0) {
    throw new UsageError(
      `cpus ${badCpus.join(',')} are not among the allowed CPUs ${allowedCpus().join(',')}`,
    );
  }
}

/** Step 2: the nginx binary to run. */
async function findNginx(options: StartNginxOptions): Promise<NginxFound> {
  const detection = await detectNginx({ path: options.nginxPath });
  if (!detection.ok)
    throw new NginxError(`${detection.reason}; ${detection.installHint}`, { stage: 'start' });
  return detection;
}

/** Step 3: the address, then the config rendered into a fresh prefix (removed again if that fails). */
async function preparePrefix(
  options: StartNginxOptions,
  nginx: NginxFound,
  asRoot: boolean,
): Promise<Prefix> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await allocatePort(host));
  const user = asRoot ? (options.user ?? (await defaultWorkerUser())) : undefined;
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'scaleup-nginx-'));
  let rendered: RenderedNginxConfig;
  try {
    rendered = renderNginxConfig({
      ...options,
      prefix: dir,
      host,
      port,
      user,
      nofileLimit: await readNofileHardLimit(),
    });
    await writeLayout(dir, rendered, asRoot);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { settings } = rendered;
  const errorLogPath = settings.errorLog;
  const args = ['-p', `${dir}/`, '-c', settings.configPath];
  if (versionAtLeast(nginx.version, EARLY_ERROR_LOG_SINCE)) args.push('-e', errorLogPath);
  const keepErrorLogAt = options.keepErrorLogAt;
  return {
    dir,
    host,
    port,
    url: `http://${prettyHost(host)}:${port}/`,
    rendered,
    settings,
    configPath: settings.configPath,
    errorLogPath,
    args,
    saveErrorLog: async () => {
      if (keepErrorLogAt) await copyFile(errorLogPath, keepErrorLogAt).catch(() => {});
    },
  };
}

/** How a failed start is reported: the prefix is kept (and named) unless asked otherwise. */
function failureReporter(prefix: Prefix, keepOnFailure: boolean): Fail {
  const { dir, errorLogPath, configPath } = prefix;
  return async (stage, message, nginxMessage) => {
    const errorLogTail = await tailFile(errorLogPath, 200);
    await prefix.saveErrorLog();
    if (!keepOnFailure) await rm(dir, { recursive: true, force: true });
    const kept = keepOnFailure ? `; config and error log kept in ${dir}` : '';
    const parts = [message];
    if (nginxMessage?.trim()) parts.push(`nginx said:\n${nginxMessage.trim()}`);
    const logOnly = distinctLogLines(errorLogTail, nginxMessage ?? '');
    if (logOnly.length > 0) parts.push(`error log (${errorLogPath}):\n${logOnly.join('\n')}`);
    throw new NginxError(`${parts.join('\n')}${kept}`, {
      stage,
      nginxMessage,
      errorLogPath,
      errorLogTail,
      prefix: keepOnFailure ? dir : null,
      configPath,
    });
  };
}

/**
 * Step 4: `nginx -t` reads the config exactly as the real start will, and says what is wrong in its
 * own words. Returns the warnings it printed.
 */
async function validateConfig(nginx: NginxFound, prefix: Prefix, fail: Fail): Promise<string[]> {
  const test = await execa(nginx.path, ['-t', ...prefix.args], { reject: false, all: true, timeout: 30_000 });
  const testOutput = test.all ?? '';
  if (test.exitCode !== 0) {
    return fail(
      'validate',
      `nginx rejected the config ${prefix.configPath}`,
      testOutput || test.shortMessage,
    );
  }
  return testOutput.split('\n').filter((line) => line.includes('[warn]'));
}

/** Step 5: nginx in the foreground, in its own process group, dying with its parent. */
async function launch(
  options: StartNginxOptions,
  nginx: NginxFound,
  prefix: Prefix,
  fail: Fail,
): Promise<NginxMaster> {
  const command = supervisedCommand(nginx.path, prefix.args, { cpus: options.cpus, deathSignal: 'TERM' });
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
  const watched = watchSubprocess(subprocess);
  if (watched.pid === undefined) {
    await watched.exited;
    return fail('start', `could not start ${nginx.path}`, watched.stderr());
  }
  return new NginxMaster(watched.pid, watched);
}

type Readiness = number[] | 'exited' | { wrongAnswer: string };

/**
 * One look at a starting nginx: its workers once it serves the exact payload, 'exited', a wrong
 * answer (which will not fix itself), or undefined to look again.
 */
async function probeReadiness(master: NginxMaster, prefix: Prefix): Promise<Readiness | undefined> {
  if (master.hasExited()) return 'exited';
  const { settings, url } = prefix;
  // nginx writes its pid file only after it has bound the listening sockets: the answer below
  // then comes from this nginx, not from something else that holds the port.
  const pidText = await readFile(settings.pidFile, 'utf8').catch(() => '');
  if (Number(pidText.trim()) !== master.pid) return undefined;
  const response = await httpGet(url, 1000);
  const expected = settings.payloadBytes;
  if (response.status !== 200) return { wrongAnswer: `status ${response.status} from ${url}` };
  if (response.body.length !== expected) {
    return { wrongAnswer: `body of ${response.body.length} bytes from ${url}, expected ${expected}` };
  }
  if (expected > 0 && response.body.toString('latin1') !== '*'.repeat(expected)) {
    return { wrongAnswer: `body from ${url} is not ${expected} bytes of '*'` };
  }
  const workers = await master.rememberWorkers();
  return workers.length >= settings.workerProcesses ? workers : undefined;
}

/** Step 6: ready once nginx serves the exact payload with all its workers; else stop it and fail. */
async function awaitReady(
  options: StartNginxOptions,
  master: NginxMaster,
  prefix: Prefix,
  fail: Fail,
): Promise<number[]> {
  const termTimeoutMs = options.termTimeoutMs ?? 3000;
  try {
    const outcome = await waitFor<Readiness>(() => probeReadiness(master, prefix), {
      timeoutMs: options.readyTimeoutMs ?? 10_000,
      intervalMs: 50,
      what: `nginx to serve ${prefix.url}`,
    });
    if (outcome === 'exited') {
      const how = describeExit(await master.exited);
      await master.killLeftovers();
      return await fail('start', `nginx exited during startup (${how})`, master.stderr());
    }
    if (!Array.isArray(outcome)) {
      await master.forceStop(termTimeoutMs);
      return await fail('ready', `nginx answered wrongly: ${outcome.wrongAnswer}`, master.stderr());
    }
    return outcome;
  } catch (error) {
    if (error instanceof NginxError) throw error;
    await master.forceStop(termTimeoutMs);
    return fail(
      'ready',
      `nginx did not become ready: ${error instanceof Error ? error.message : String(error)}`,
      master.stderr(),
    );
  }
}

/**
 * Stops a running nginx (graceful, then fast, then forced), checks it left nothing behind (no
 * worker, the port free), and removes the prefix unless something is wrong: then it is kept and
 * named in the error.
 */
async function stopNginx(
  options: StartNginxOptions,
  master: NginxMaster,
  prefix: Prefix,
): Promise<NginxStopReport> {
  const started = Date.now();
  const diedOnItsOwn = master.hasExited();
  const stoppedBy: NginxStopReport['stoppedBy'] = diedOnItsOwn
    ? 'exited'
    : await master.stopGracefully(options.quitTimeoutMs ?? 5000, options.termTimeoutMs ?? 3000);
  const leftovers = await master.killLeftovers();
  const { port, host, dir, errorLogPath, configPath } = prefix;
  const portFree = await waitFor(async () => ((await isPortFree(port, host)) ? true : undefined), {
    timeoutMs: 5000,
    what: `port ${port} to be free`,
  }).catch(() => false);
  const log = await readFile(errorLogPath, 'utf8').catch(() => '');
  const errorLogProblems = problemLines(log);
  await prefix.saveErrorLog();
  const keep = diedOnItsOwn || !portFree || leftovers.length > 0;
  if (!keep) await rm(dir, { recursive: true, force: true });
  if (diedOnItsOwn) {
    const how = describeExit(await master.exited);
    const tail = log.trimEnd().split('\n').slice(-30).join('\n');
    throw new NginxError(
      `nginx exited on its own during the run (${how})${tail ? `; error log:\n${tail}` : ''}\nkept ${dir}`,
      {
        stage: 'run',
        errorLogPath,
        errorLogTail: tail,
        nginxMessage: master.stderr(),
        prefix: dir,
        configPath,
      },
    );
  }
  if (leftovers.length > 0 || !portFree) {
    const what =
      leftovers.length > 0 ? `workers ${leftovers.join(', ')} survived SIGKILL` : `port ${port} still busy`;
    throw new NginxError(`nginx did not stop cleanly: ${what}; kept ${dir}`, {
      stage: 'stop',
      errorLogPath,
      prefix: dir,
      configPath,
    });
  }
  return { stoppedBy, durationMs: Date.now() - started, errorLogProblems };
}

/**
 * Runs a real nginx in the foreground under supervision: validated with `nginx -t`, started with
 * `setpriv --pdeathsig=TERM` (so it stops even when the caller is SIGKILLed), optionally pinned with
 * taskset, and ready only once it serves the exact payload. Any failure stops what was started and
 * throws a NginxError holding nginx's own message.
 */
export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  const asRoot = process.getuid?.() === 0;
  refuseImpossible(options, asRoot);
  const nginx = await findNginx(options);
  const prefix = await preparePrefix(options, nginx, asRoot);
  const fail = failureReporter(prefix, options.keepPrefixOnFailure ?? true);
  const configWarnings = await validateConfig(nginx, prefix, fail);
  const master = await launch(options, nginx, prefix, fail);
  const initialWorkerPids = await awaitReady(options, master, prefix, fail);

  let stopping: Promise<NginxStopReport> | undefined;
  return {
    url: prefix.url,
    host: prefix.host,
    port: prefix.port,
    prefix: prefix.dir,
    configPath: prefix.configPath,
    errorLogPath: prefix.errorLogPath,
    configText: prefix.rendered.text,
    settings: prefix.settings,
    nginxPath: nginx.path,
    version: nginx.version,
    configWarnings,
    masterPid: master.pid,
    initialWorkerPids,
    workerPids: () => master.workerPids(),
    exited: master.exited,
    hasExited: () => master.hasExited(),
    errorLogTail: (lines = 20) => tailFile(prefix.errorLogPath, lines),
    stop: () => {
      stopping ??= stopNginx(options, master, prefix);
      return stopping;
    },
  };
}
