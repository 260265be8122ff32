import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The group leader in this checkout; a remote host runs the same file from its own checkout. */
export const LEADER_PATH = fileURLToPath(new URL('./group-leader.mjs', import.meta.url));
/** Where the group leader lives relative to a checkout's root. */
export const LEADER_IN_CHECKOUT = 'packages/hosts/src/group-leader.mjs';
/** The checkout this module is part of. */
export const REPO_DIR = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');

/** Unguessable per process, so no line the command prints can pass for a control message. */
export function newToken(): string {
  return `@scaleup-leader-${randomBytes(8).toString('hex')}`;
}

export interface LeaderOptions {
  token: string;
  graceMs: number;
  heartbeatMs?: number;
  stdin: boolean;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  cpus?: readonly number[] | undefined;
}

/** The group leader's arguments, up to and including the `--` before the command. */
export function leaderArguments(options: LeaderOptions): string[] {
  const args = ['--token', options.token, '--grace', String(Math.round(options.graceMs))];
  if (options.heartbeatMs !== undefined && options.heartbeatMs > 0)
    args.push('--heartbeat', String(Math.round(options.heartbeatMs)));
  if (options.stdin) args.push('--stdin');
  if (options.cwd !== undefined) args.push('--cwd', options.cwd);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (name === '' || name.includes('=')) throw new Error(`not an environment variable name: ${name}`);
    args.push('--env', `${name}=${value}`);
  }
  if (options.cpus !== undefined && options.cpus.length > 0) args.push('--cpus', options.cpus.join(','));
  args.push('--');
  return args;
}

export type ControlMessage =
  | { kind: 'started'; leaderPid: number; pid: number }
  | { kind: 'stopping'; reason: string }
  | { kind: 'exit'; exitCode: number | null; signal: string | null }
  | { kind: 'error'; message: string };

/** One control message (the text after the token), or null for anything else. */
export function parseControl(text: string): ControlMessage | null {
  const body = text.trim();
  const space = body.indexOf(' ');
  const word = space === -1 ? body : body.slice(0, space);
  const rest = space === -1 ? '' : body.slice(space + 1);
  if (word === 'started') {
    const [leader, pid] = rest.split(' ').map(Number);
    if (Number.isInteger(leader) && Number.isInteger(pid))
      return { kind: 'started', leaderPid: leader!, pid: pid! };
    return null;
  }
  if (word === 'stopping') return { kind: 'stopping', reason: rest };
  if (word === 'error') return { kind: 'error', message: rest };
  if (word === 'exit') {
    const [code, signal] = rest.split(' ');
    return {
      kind: 'exit',
      exitCode: code === undefined || code === '-' ? null : Number(code),
      signal: signal === undefined || signal === '-' ? null : signal,
    };
  }
  return null;
}

/**
 * Splits a stderr stream into the command's lines and the leader's control messages. A control
 * message is one atomic write, but it may land after a partial line of the command's; the
 * partial stays pending and is continued by what follows, so the command's text comes out whole.
 */
export class StderrDemux {
  #pending = '';

  constructor(
    readonly token: string,
    readonly onControl: (message: ControlMessage) => void,
    /** `complete` is false for a last line that had no newline. */
    readonly onLine: (line: string, complete: boolean) => void,
  ) {}

  push(chunk: string): void {
    this.#pending += chunk;
    for (let end = this.#pending.indexOf('\n'); end !== -1; end = this.#pending.indexOf('\n', end)) {
      const line = this.#pending.slice(0, end);
      const at = line.indexOf(this.token);
      if (at === -1) {
        this.onLine(line, true);
        this.#pending = this.#pending.slice(end + 1);
        end = 0;
        continue;
      }
      const message = parseControl(line.slice(at + this.token.length));
      if (message !== null) this.onControl(message);
      this.#pending = line.slice(0, at) + this.#pending.slice(end + 1);
      end = at;
    }
  }

  /** The rest, when the stream ended without a final newline. */
  end(): void {
    if (this.#pending !== '') this.onLine(this.#pending, false);
    this.#pending = '';
  }
}

/** Frames on the group leader's control stdin. */
export const frames = {
  data: (text: string | Uint8Array) => `D ${Buffer.from(text).toString('base64')}\n`,
  stop: (graceMs: number) => `S ${Math.max(0, Math.round(graceMs))}\n`,
  heartbeat: 'H\n',
};
