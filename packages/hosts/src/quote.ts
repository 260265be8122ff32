/** Characters that mean nothing to a POSIX shell anywhere in a word ('=' is left out: a leading NAME=value is an assignment). */
const PLAIN = /^[A-Za-z0-9_\-+.,/:@%]+$/;

/**
 * One argument quoted for a POSIX shell, the way ssh hands the remote command to the remote
 * user's shell as a single string. Plain words stay readable; everything else goes in single
 * quotes, inside which only the single quote itself needs care ('\'' closes, escapes, reopens).
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error(`an argument cannot contain a NUL byte: ${JSON.stringify(arg)}`);
  if (PLAIN.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A command line for a remote POSIX shell that execs `argv` exactly, with no shell left behind. */
export function remoteCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command line');
  return `exec ${argv.map(shellQuote).join(' ')}`;
}
