import { oneLine } from './results.ts';

/**
 * Text from a file (a path, a host name, an argument) as it appears inside a one-line message
 * or a listing: in double quotes, with its line breaks and control characters shown as escapes,
 * never obeyed by the terminal.
 */
export function quoted(text: string): string {
  return oneLine(JSON.stringify(text));
}
