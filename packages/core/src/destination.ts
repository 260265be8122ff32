/**
 * What an ssh destination may be: `[user@]host[:port]`, `ssh://...`, or a Host of the ssh
 * config. ssh takes an argument that starts with '-' for an option (`-oProxyCommand=...` runs a
 * command on this machine), and whitespace or control characters belong in no host name: they
 * only forge output or smuggle words. Null when `destination` is fine, else why not, in words.
 */
export function destinationProblem(destination: string): string | null {
  if (destination === '') return 'it is empty';
  if (destination.startsWith('-')) return "it starts with '-', which ssh would take for an option";
  if (/[\s\p{Cc}\p{Cf}]/u.test(destination))
    return 'it contains whitespace or a control or formatting character';
  return null;
}
