/**
 * Bad input from a user: the CLI prints `message` as one line and exits with code 2. Anything
 * already written stays written.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
