import type { ProcessCpuSample, RepetitionCost, RepetitionLoad } from './results-schema.ts';

/**
 * What a repetition's own figures say each side spent per successful response. Pure: the
 * executor samples, this divides. Failed, errored and timed-out responses are not in the
 * denominator (the tools count them apart); a wrong-sized response makes the repetition
 * invalid, and invalid repetitions take no part in any summary.
 */
export interface CostInput {
  load: Pick<RepetitionLoad, 'requests' | 'toolCpu'>;
  /** CPU deltas of the server's processes; empty when none could be read. */
  serverCpu: readonly ProcessCpuSample[];
  /** Voluntary + involuntary switches of the server's processes over the repetition, or null. */
  serverContextSwitches: number | null;
  /** System calls the server's processes entered over the repetition, or null. */
  serverSyscalls: number | null;
}

const MICROS = 1e6;

export function repetitionCost(input: CostInput): RepetitionCost {
  const responses = input.load.requests.succeeded;
  const per = (amount: number | null): number | null =>
    amount === null || responses <= 0 ? null : amount / responses;
  const serverSeconds =
    input.serverCpu.length === 0
      ? null
      : input.serverCpu.reduce((sum, p) => sum + p.userSeconds + p.systemSeconds, 0);
  const tool = input.load.toolCpu;
  return {
    serverCpuMicrosPerResponse: per(serverSeconds === null ? null : serverSeconds * MICROS),
    toolCpuMicrosPerResponse: per(tool === null ? null : (tool.userSeconds + tool.systemSeconds) * MICROS),
    serverSyscallsPerResponse: per(input.serverSyscalls),
    serverContextSwitchesPerResponse: per(input.serverContextSwitches),
  };
}

/**
 * voluntary_ctxt_switches + nonvoluntary_ctxt_switches from the text of /proc/<pid>/status, or
 * null when either line is missing (a kernel without them, a process gone mid-read).
 */
export function parseContextSwitches(status: string): number | null {
  const field = (name: string): number | null => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s*$`, 'm').exec(status);
    return match === null ? null : Number(match[1]);
  };
  const voluntary = field('voluntary_ctxt_switches');
  const involuntary = field('nonvoluntary_ctxt_switches');
  return voluntary === null || involuntary === null ? null : voluntary + involuntary;
}
