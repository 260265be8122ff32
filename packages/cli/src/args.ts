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

export { choiceListOption, choiceOption, intListOption, intOption, numberOption } from '@scaleup/core';
