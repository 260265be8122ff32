import type { LoadResult, Verdict } from '@scaleup/core';
import { bodyBytesFit } from '@scaleup/driver';

export interface VerdictInput {
  load: LoadResult;
  expectedBodyBytes: number;
  /** Server CPU seconds over the repetition divided by (wall seconds x server cores), or null. */
  serverCpuUtilisation: number | null;
  /** Connections of a duration-mode run, whose last responses may be cut off mid-body; 0 in count mode. */
  inFlightResponses?: number;
  /** Requests a count-mode run asked for; fewer done means the tool stopped short. */
  requestedCount?: number;
  /** Size of one whole response as verified before the run; checks tools that count only totals. */
  responseBytes?: number | null;
}

/** Above this share of its cores the tool is saturated. */
export const CLIENT_SATURATED = 0.9;
/** Below this share the server still had room: the tool, not the server, set the pace. */
export const SERVER_HAS_ROOM = 0.8;

/**
 * Whether a repetition may enter a summary. A run with any failed, errored, timed-out, non-2xx
 * or wrong-sized response is invalid: its req/s measures something other than serving the page.
 */
export function judgeRepetition({
  load,
  expectedBodyBytes,
  serverCpuUtilisation,
  inFlightResponses = 0,
  requestedCount,
  responseBytes = null,
}: VerdictInput): Verdict {
  const reasons: string[] = [];
  const r = load.requests;
  if (!load.completed) {
    reasons.push('the load tool did not finish or its output was incomplete');
    // Only here are the tool's own lines the explanation; otherwise the counts speak, and a
    // measurement note (how the tool's CPU was read) must not void a repetition.
    reasons.push(...load.errors);
  }
  if (requestedCount !== undefined && r.done < requestedCount) {
    reasons.push(`${requestedCount - r.done} of ${requestedCount} requests never finished`);
  }
  if (r.succeeded === 0) reasons.push('no successful response');
  if (r.failed > 0) reasons.push(`${r.failed} failed responses`);
  if (r.errored > 0) reasons.push(`${r.errored} errored requests`);
  if (r.timedOut > 0) reasons.push(`${r.timedOut} timed-out requests`);
  const non2xx =
    load.statusClasses['1xx'] +
    load.statusClasses['3xx'] +
    load.statusClasses['4xx'] +
    load.statusClasses['5xx'];
  if (non2xx > 0) reasons.push(`${non2xx} non-2xx responses`);
  if (load.bytes.body !== null && r.succeeded > 0) {
    const expected = r.succeeded * expectedBodyBytes;
    if (r.failed === 0 && !bodyBytesFit(load.bytes.body, r.succeeded, expectedBodyBytes, inFlightResponses)) {
      reasons.push(
        `body bytes ${load.bytes.body} != ${r.succeeded} responses x ${expectedBodyBytes} B (${expected})`,
      );
    }
  }

  if (load.bytes.body === null && responseBytes !== null && r.succeeded > 0 && r.failed === 0) {
    // Tools without a body count (wrk) still count whole responses; each must be the verified size.
    if (!bodyBytesFit(load.bytes.total, r.succeeded, responseBytes, inFlightResponses)) {
      reasons.push(
        `traffic ${load.bytes.total} B != ${r.succeeded} responses x ${responseBytes} B (the verified response size)`,
      );
    }
  }

  let clientBound = false;
  let clientBoundReason: string | null = null;
  const toolUtilisation = load.toolCpu?.utilisation ?? null;
  if (toolUtilisation !== null && toolUtilisation >= CLIENT_SATURATED) {
    if (serverCpuUtilisation !== null && serverCpuUtilisation < SERVER_HAS_ROOM) {
      clientBound = true;
      clientBoundReason = `load tool used ${(toolUtilisation * 100).toFixed(0)}% of its cores while the server used ${(serverCpuUtilisation * 100).toFixed(0)}% of its own`;
    }
  }
  return { valid: reasons.length === 0, reasons, clientBound, clientBoundReason };
}
