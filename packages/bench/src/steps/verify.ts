import type { PlannedInstance, PlannedServer, ScenarioResult } from '@scaleup/core';
import { httpGet, probeResponseForms } from '@scaleup/core/io';
import type { ServerUnderTest } from '../servers.ts';
import { zeroCopyWarning } from '../warnings.ts';
import type { RunContext } from './context.ts';

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

/**
 * Verifies a started server and records what it is on each of its points (its URL, host, the
 * description it reported, the verification). Returns why its points must be skipped, or null.
 */
export async function verifyStarted(
  context: RunContext,
  planned: PlannedServer,
  instances: readonly PlannedInstance[],
  server: ServerUnderTest,
): Promise<string | null> {
  const { store } = context;
  const exactStars = planned.scenario.server.kind !== 'command';
  const verification = await verifyServer(server.url, planned.scenario.payloadBytes, exactStars);
  for (const instance of instances) {
    const result = store.result(instance.id);
    result.url = server.url;
    result.server = mergeDescription(result.server, server.description);
    result.serverHost = server.host;
    result.verification = verification;
  }
  const sendWarning = zeroCopyWarning(planned.scenario, store.result(instances[0]!.id).server);
  if (sendWarning !== null) store.warn(sendWarning);
  return verification.ok ? null : `response check failed: ${verification.detail}`;
}

/** Keeps what the plan knew and adds what the started server reported (nginx settings, argv). */
export function mergeDescription(
  planned: ScenarioResult['server'],
  actual: ScenarioResult['server'],
): ScenarioResult['server'] {
  if (planned.kind === 'nginx' && actual.kind === 'nginx')
    return { ...planned, ...actual, version: actual.version ?? planned.version };
  return actual;
}
