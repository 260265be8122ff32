import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';
const TASKSET = '/usr/bin/taskset';

export interface SupervisedCommand {
  file: string;
  args: string[];
}

/**
 * Wraps a command so that it dies with the process that spawns it, even when that process is
 * killed with SIGKILL and gets no chance to clean up: `setpriv --pdeathsig` asks the kernel to
 * signal the child when its parent dies. With `cpus`, `taskset` pins it first. Both exec the
 * command in place, so the pid the caller sees is the command's own.
 *
 * `deathSignal` is TERM for servers (nginx's master then stops its workers) and KILL for load tools.
 */
export function supervisedCommand(
  file: string,
  args: string[],
  options: { cpus?: readonly number[] | undefined; deathSignal?: 'TERM' | 'KILL' | 'INT' } = {},
): SupervisedCommand {
  let command: SupervisedCommand = { file, args };
  if (options.cpus !== undefined && options.cpus.length > 0) {
    command = { file: TASKSET, args: ['-c', options.cpus.join(','), command.file, ...command.args] };
  }
  if (existsSync(SETPRIV)) {
    command = {
      file: SETPRIV,
      args: [`--pdeathsig=${options.deathSignal ?? 'TERM'}`, '--', command.file, ...command.args],
    };
  }
  return command;
}
