import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '@scaleup/core';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict option parsing: an unknown option or a missing value becomes a UsageError naming it,
 * which the CLI turns into one line and exit code 2.
 */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals, allowNegative: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(message ?? 'invalid arguments');
  }
}

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
