// The process-group leader every Host command runs behind, locally and over ssh.
//
// Plain JavaScript on purpose: it must start fast with a bare `node` on a remote machine, where
// tsx may not be installed and every millisecond of start-up is paid per command.
//
//   node group-leader.mjs --token T [--grace MS] [--heartbeat MS] [--stdin] [--cwd DIR]
//                         [--env NAME=VALUE]... [--cpus LIST] -- FILE [ARG...]
//
// The command runs detached in its own process group with stdout and stderr passed through.
// The whole group is killed (TERM, KILL after the grace) when this leader gets SIGTERM, SIGINT
// or SIGHUP, when its parent dies, when its control stdin closes or goes silent for longer than
// the heartbeat (these three: the connection is lost, and the grace is at most 1 s), or when
// the command exits while members of its group linger. It exits with the
// command's status (128 + signal number for a signal).
//
// Control messages are single lines on stderr starting with the token, so the host can pick them
// out of the command's own stderr (one small write is atomic on a pipe, so a line never tears):
//   T started LEADER_PID PID     before anything else the leader writes
//   T stopping REASON
//   T exit CODE|- SIGNAL|-       last
//   T error MESSAGE              the command could not be started
// Control frames on stdin, one per line:
//   D BASE64     data for the command's stdin (with --stdin)
//   S GRACE_MS   stop the group with this grace
//   H            heartbeat (any frame counts as one)
//
// Never touch process.stdout or process.stderr here: they share their open file descriptions
// with the command, and Node would switch them to non-blocking mode under the command's feet.
import { spawn } from 'node:child_process';
import {
  accessSync,
  existsSync,
  constants as fsConstants,
  readdirSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';

const USAGE =
  'usage: group-leader.mjs --token T [--grace MS] [--heartbeat MS] [--stdin] [--cwd DIR] [--env NAME=VALUE]... [--cpus LIST] -- FILE [ARG...]';

function parseArguments(argv) {
  const options = {
    token: '',
    graceMs: 5000,
    heartbeatMs: 0,
    stdin: false,
    cwd: undefined,
    env: {},
    cpus: '',
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    const value = () => {
      i += 1;
      if (i >= argv.length) fail(`${arg} needs a value`);
      return argv[i];
    };
    if (arg === '--token') options.token = value();
    else if (arg === '--grace') options.graceMs = Number(value());
    else if (arg === '--heartbeat') options.heartbeatMs = Number(value());
    else if (arg === '--stdin') options.stdin = true;
    else if (arg === '--cwd') options.cwd = value();
    else if (arg === '--cpus') options.cpus = value();
    else if (arg === '--env') {
      const pair = value();
      const at = pair.indexOf('=');
      if (at <= 0) fail(`--env needs NAME=VALUE, got ${pair}`);
      options.env[pair.slice(0, at)] = pair.slice(at + 1);
    } else fail(`unknown option ${arg}`);
  }
  const command = argv.slice(i + 1);
  if (i >= argv.length || command.length === 0) fail('no command after --');
  if (options.token === '') fail('--token is required');
  if (!Number.isFinite(options.graceMs) || options.graceMs < 0) fail('--grace needs milliseconds');
  if (!Number.isFinite(options.heartbeatMs) || options.heartbeatMs < 0)
    fail('--heartbeat needs milliseconds');
  return { options, command };
}

function fail(message) {
  try {
    writeSync(2, `group-leader: ${message}\n${USAGE}\n`);
  } catch {
    // Nobody listens any more.
  }
  process.exit(64);
}

const { options, command } = parseArguments(process.argv.slice(2));

const pause = new Int32Array(new SharedArrayBuffer(4));

function control(message) {
  const line = Buffer.from(`${options.token} ${message.replaceAll('\n', ' ')}\n`);
  // A Node command makes the shared stderr non-blocking, so a full pipe answers EAGAIN: retry
  // briefly rather than lose the one line the host is waiting for.
  for (let attempt = 0; attempt < 400; attempt++) {
    try {
      writeSync(2, line);
      return;
    } catch (error) {
      if (error.code !== 'EAGAIN') return; // EPIPE: the connection is gone; the group is being stopped anyway.
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

/** Members of the group that are not zombies; kill(-pgid, 0) alone counts zombies, and init here may never reap them. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if (error.code === 'ESRCH') return false;
  }
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // No /proc (not Linux): trust kill(0).
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitGroupGone(pgid, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

if (options.cwd !== undefined && !(existsSync(options.cwd) && statSync(options.cwd).isDirectory())) {
  control(`error working directory ${options.cwd} does not exist`);
  control('exit 127 -');
  process.exit(127);
}

const env = { ...process.env, ...options.env };

/** Where the command's file is, as execvp would find it, or null. */
function resolveCommand(name) {
  if (name.includes('/')) return existsSync(resolve(options.cwd ?? '.', name)) ? name : null;
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = join(dir === '' ? '.' : dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

const needed = options.cpus === '' ? command[0] : 'taskset';
if (resolveCommand(needed) === null) {
  control(`error cannot start ${needed}: not found${needed.includes('/') ? '' : ' on PATH'}`);
  control('exit 127 -');
  process.exit(127);
}

// The command waits at this gate until its pid has been reported, so the report comes before
// anything the command writes. sh execs in place: the pid is the command's own from the start.
// taskset execs the command in place too.
const GATE = 'read -r _ <&3 || exit 125; exec 3<&-; exec "$@"';
const pinned = options.cpus === '' ? command : ['taskset', '-c', options.cpus, ...command];
const child = spawn('/bin/sh', ['-c', GATE, 'group-leader', ...pinned], {
  cwd: options.cwd,
  env,
  detached: true,
  stdio: [options.stdin ? 'pipe' : 'ignore', 'inherit', 'inherit', 'pipe'],
});

let childExit; // { code, signal } once the command has exited
let resolveChildExit;
const childExited = new Promise((resolve) => {
  resolveChildExit = resolve;
});
let stopping = false;
let finished = false;

function finish() {
  if (finished) return;
  finished = true;
  const { code, signal } = childExit ?? { code: null, signal: 'SIGKILL' };
  control(`exit ${code ?? '-'} ${signal ?? '-'}`);
  process.exit(code ?? 128 + (constants.signals[signal] ?? 9));
}

async function stop(graceMs, reason) {
  const pgid = child.pid;
  if (stopping) {
    // A second signal while stopping: the caller is impatient, do not make it wait for the grace.
    if (reason.startsWith('SIG') && pgid !== undefined) signalGroup(pgid, 'SIGKILL');
    return;
  }
  stopping = true;
  control(`stopping ${reason}`);
  if (pgid !== undefined) {
    signalGroup(pgid, 'SIGTERM');
    if (!(await waitGroupGone(pgid, graceMs))) {
      signalGroup(pgid, 'SIGKILL');
      await waitGroupGone(pgid, 5000);
    }
  }
  await Promise.race([childExited, sleep(2000)]);
  finish();
}

child.on('error', (error) => {
  if (child.pid !== undefined) return;
  control(`error cannot start ${command[0]}: ${error.message}`);
  childExit = { code: 127, signal: null };
  finish();
});

child.on('exit', (code, signal) => {
  childExit = { code, signal };
  resolveChildExit();
  if (stopping) return;
  if (child.pid === undefined) {
    finish();
    return;
  }
  // A master whose workers outlive it: they hold the output pipes open and would hang whoever
  // waits on them, so the group goes with the command.
  if (groupAlive(child.pid)) void stop(options.graceMs, 'command exited, group lingering');
  else finish();
});

if (child.pid !== undefined) {
  control(`started ${process.pid} ${child.pid}`);
  child.stdio[3].on('error', () => {});
  child.stdio[3].end('\n');
}
child.stdin?.on('error', () => {
  // The command closed its stdin or died; frames for it are dropped.
});

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'])
  process.on(signal, () => void stop(options.graceMs, signal));

// With the control side gone (the ssh session's sshd died, the link dropped, the host process
// ended) nobody can take the command's output any more: a command that lingers on TERM is not
// given the whole grace, so the host is cleared at once.
const LOST_GRACE_MS = 1000;
const lostGrace = () => Math.min(options.graceMs, LOST_GRACE_MS);

const parentAtStart = process.ppid;
let lastFrameAt = Date.now();
const watchdog = setInterval(() => {
  if (process.ppid !== parentAtStart) void stop(lostGrace(), 'parent died');
  else if (options.heartbeatMs > 0 && Date.now() - lastFrameAt > options.heartbeatMs)
    void stop(lostGrace(), `no heartbeat for ${options.heartbeatMs} ms`);
}, 100);
watchdog.unref();

let pending = '';
process.stdin.setEncoding('latin1');
process.stdin.on('data', (chunk) => {
  lastFrameAt = Date.now();
  pending += chunk;
  for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
    const frame = pending.slice(0, end);
    pending = pending.slice(end + 1);
    if (frame.startsWith('D ')) child.stdin?.write(Buffer.from(frame.slice(2), 'base64'));
    else if (frame.startsWith('S ')) {
      const grace = Number(frame.slice(2));
      void stop(Number.isFinite(grace) && grace >= 0 ? grace : options.graceMs, 'asked to stop');
    }
  }
});
// This is how a dropped ssh connection reaches the remote side: sshd closes the session's pipes.
process.stdin.on('end', () => void stop(lostGrace(), 'control stdin closed'));
process.stdin.on('error', () => void stop(lostGrace(), 'control stdin failed'));
