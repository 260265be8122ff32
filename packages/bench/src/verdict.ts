import { type LoadResult, type ResponseForm, TOOL_SATURATED, type Verdict } from '@scaleup/core';
import { bodyBytesFit, openLoopBehind } from '@scaleup/driver';

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
  /**
   * Every whole-response form verification saw (the keep-alive one, and the closing one of a
   * server that ends connections after closeAfterRequests); replaces responseBytes when given.
   */
  responseForms?: readonly ResponseForm[];
  closeAfterRequests?: number | null;
  /** Concurrent connections: at most this many connection lives were still open at the end. */
  connections?: number;
}

/** Above this share of its cores the tool is saturated. */
export const CLIENT_SATURATED = TOOL_SATURATED;

/**
 * Whether a tool's byte total is explained exactly by `succeeded` responses of the verified
 * forms. With one form: succeeded x size (plus at most one partial response per connection in
 * duration mode). With a closing form after every K responses, every connection life but the at
 * most `connections` still open at the end served exactly K, so the number of closing responses
 * b lies in [ceil((succeeded - c(K - 1)) / K), floor(succeeded / K)]; the total must equal
 * (succeeded - b) x keep + b x close (+ partials) for some integer b in that range. A body one
 * byte short per response needs far more closes than that and still fails.
 */
export function trafficExplained(input: {
  totalBytes: number;
  succeeded: number;
  forms: readonly ResponseForm[];
  closeAfterRequests: number | null;
  connections: number;
  inFlight: number;
}): boolean {
  const keep = input.forms.find((f) => !f.closes) ?? input.forms[0];
  if (keep === undefined) return true;
  const closing = input.forms.find((f) => f.closes && f.bytes !== keep.bytes);
  const K = input.closeAfterRequests;
  if (closing === undefined || K === null) {
    return bodyBytesFit(input.totalBytes, input.succeeded, keep.bytes, input.inFlight);
  }
  const n = input.succeeded;
  const bMax = Math.floor(n / K);
  const bMin = Math.max(0, Math.ceil((n - input.connections * (K - 1)) / K));
  const slack = input.inFlight * keep.bytes;
  const d = keep.bytes - closing.bytes;
  // total = n*keep - b*d + partial, partial in [0, slack]: solve for the b that fit.
  for (let b = bMin; b <= bMax; b++) {
    const partial = input.totalBytes - (n * keep.bytes - b * d);
    if (partial >= 0 && partial <= slack) return true;
  }
  return false;
}
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
  responseForms,
  closeAfterRequests = null,
  connections = inFlightResponses,
}: VerdictInput): Verdict {
  const reasons: string[] = [];
  const r = load.requests;
  if (!load.completed) {
    // Only here are the tool's own lines the explanation (a load host whose connection was lost
    // names itself); otherwise the counts speak, and a measurement note (how the tool's CPU was
    // read) must not void a repetition. The generic line only when nothing says more.
    reasons.push(
      ...(load.errors.length > 0
        ? load.errors
        : ['the load tool did not finish or its output was incomplete']),
    );
  }
  if (requestedCount !== undefined && r.done < requestedCount) {
    reasons.push(`${requestedCount - r.done} of ${requestedCount} requests never finished`);
  }
  // An open-loop tool that fell behind its schedule charged its own delay to the server.
  const behind = openLoopBehind(load.openLoop);
  if (behind !== null) reasons.push(behind);
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

  const forms =
    responseForms !== undefined && responseForms.length > 0
      ? responseForms
      : responseBytes !== null
        ? [{ bytes: responseBytes, closes: false }]
        : [];
  if (load.bytes.body === null && forms.length > 0 && r.succeeded > 0 && r.failed === 0) {
    // Tools without a body count (wrk) still count whole responses; each must be a verified form.
    const explained = trafficExplained({
      totalBytes: load.bytes.total,
      succeeded: r.succeeded,
      forms,
      closeAfterRequests,
      connections,
      inFlight: inFlightResponses,
    });
    if (!explained) {
      const sizes = forms.map((f) => `${f.bytes} B${f.closes ? ' (closing)' : ''}`).join(' or ');
      const every =
        closeAfterRequests !== null && forms.length > 1 ? `, closing after ${closeAfterRequests}` : '';
      reasons.push(
        `traffic ${load.bytes.total} B is not ${r.succeeded} responses of ${sizes}${every} (the verified response forms)`,
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
