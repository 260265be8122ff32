import { UsageError } from './errors.ts';

/**
 * Option values from the command line, shared by the CLI and the server's own parser: each
 * returns the fallback when absent and throws a UsageError naming the option otherwise.
 */

/** A whole number option within bounds, or a UsageError naming the option. */
export function intOption(
  value: string | undefined,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A positive number option (fractions allowed), or a UsageError naming the option. */
export function numberOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} must be a number >= ${min}, got '${value}'`);
  }
  return n;
}

/** One of a fixed set of words, or a UsageError listing them. */
export function choiceOption<C extends string>(
  value: string | undefined,
  name: string,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  }
  return value as C;
}

/** A comma list of whole numbers (`1,2,4`), each within bounds; duplicates are dropped, order kept. */
export function intListOption(
  value: string | undefined,
  name: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  const bad = parts.filter((p) => !/^\d+$/.test(p) || Number(p) < min || Number(p) > max);
  if (parts.length === 0 || bad.length > 0) {
    throw new UsageError(
      `--${name} takes whole numbers between ${min} and ${max}, comma-separated (e.g. 1,2,4), got '${value}'`,
    );
  }
  return [...new Set(parts.map(Number))];
}

/** A comma list of words from a fixed set. */
export function choiceListOption<C extends string>(
  value: string | undefined,
  name: string,
  choices: readonly C[],
): C[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  const bad = parts.filter((p) => !(choices as readonly string[]).includes(p));
  if (bad.length > 0 || parts.length === 0) {
    throw new UsageError(`--${name} takes a comma list of ${choices.join(', ')}, got '${value}'`);
  }
  return [...new Set(parts)] as C[];
}
