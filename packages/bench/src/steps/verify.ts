import type { ScenarioResult } from '@scaleup/core';
import { httpGet, probeResponseForms } from '@scaleup/core/io';

export type Verification = NonNullable<ScenarioResult['verification']>;

/**
 * The server must answer 200 with exactly the payload before any load is spent on it. Then the
 * forms of its whole responses on one keep-alive connection are learned, so tools that count
 * only total bytes (wrk) can still be checked exactly, including servers that close every K-th
 * response (nginx's stock keepalive_requests).
 */
export async function verifyServer(
  url: string,
  payloadBytes: number,
  exactStars: boolean,
): Promise<Verification> {
  const failed = (status: number, bodyBytes: number, detail: string): Verification => ({
    status,
    bodyBytes,
    expectedBodyBytes: payloadBytes,
    responseBytes: null,
    responseForms: [],
    closeAfterRequests: null,
    ok: false,
    detail,
  });
  let response: Awaited<ReturnType<typeof httpGet>>;
  try {
    response = await httpGet(url, 5000);
  } catch (error) {
    return failed(0, 0, (error as Error).message);
  }
  const bodyOk =
    response.body.length === payloadBytes && (!exactStars || response.body.every((byte) => byte === 0x2a));
  if (response.status !== 200)
    return failed(response.status, response.body.length, `status ${response.status}`);
  if (!bodyOk) {
    return failed(
      response.status,
      response.body.length,
      `body is ${response.body.length} B${exactStars ? ' or not all "*"' : ''}, expected ${payloadBytes} B`,
    );
  }
  let probe: Awaited<ReturnType<typeof probeResponseForms>>;
  try {
    probe = await probeResponseForms(url);
  } catch (error) {
    return failed(response.status, response.body.length, `keep-alive probe: ${(error as Error).message}`);
  }
  const keepAlive = probe.forms.find((f) => !f.closes) ?? probe.forms[0] ?? null;
  return {
    status: response.status,
    bodyBytes: response.body.length,
    expectedBodyBytes: payloadBytes,
    responseBytes: keepAlive?.bytes ?? null,
    responseForms: probe.forms,
    closeAfterRequests: probe.closeAfterRequests,
    ok: true,
    detail: null,
  };
}
