import { join } from 'node:path';
import type { Environment, PlannedServer, Profile, ScenarioResult } from '@scaleup/core';
import type { RunnerDeps } from '../runner.ts';
import {
  type ServerPlace,
  type ServerUnderTest,
  startCommandServer,
  startScaleupServer,
} from '../servers.ts';
import { verifyServer } from './verify.ts';

export interface StartContext {
  deps: RunnerDeps;
  nginxInfo: Environment['nginx'];
  profile: Profile;
  /** Connections the server must be ready for (nginx sizes worker_connections by it). */
  connections: number;
  backlog: number;
  place: ServerPlace;
  logDir: string;
}

/** The server of a planned point: scaleup through its CLI, a real nginx, or the user's command. */
export async function startServer(planned: PlannedServer, context: StartContext): Promise<ServerUnderTest> {
  const { scenario } = planned;
  const s = scenario.server;
  const cpus = planned.serverCpus ?? undefined;
  const logPath = join(context.logDir, `${logName(planned)}.log`);
  switch (s.kind) {
    case 'scaleup':
      return startScaleupServer({
        resource: s.resource,
        accept: planned.accept ?? s.accept,
        workers: planned.workers,
        backlog: s.backlog,
        send: s.send,
        payloadBytes: scenario.payloadBytes,
        cpus,
        place: context.place,
        logPath,
      });
    case 'nginx': {
      if (context.nginxInfo.missing !== null) throw new Error(`nginx skipped: ${context.nginxInfo.missing}`);
      return context.deps.nginx.start({
        payloadBytes: scenario.payloadBytes,
        workers: planned.workers,
        preset: s.preset ?? context.profile.nginxPreset,
        connections: context.connections,
        backlog: context.backlog,
        cpus,
        place: context.place,
        logPath,
      });
    }
    case 'command':
      return startCommandServer({
        command: s.command,
        cwd: s.cwd,
        env: s.env,
        readyUrl: s.readyUrl,
        url: s.url,
        readyTimeoutSeconds: s.readyTimeoutSeconds,
        check: s.check,
        install: s.install,
        payloadBytes: scenario.payloadBytes,
        workers: planned.workers,
        place: context.place,
        cpus,
        logPath,
        probe: async (url) => (await verifyServer(url, scenario.payloadBytes, false)).status !== 0,
      });
  }
}

/** One log per server: the scenario id, plus its point when the plan has several. */
function logName(planned: PlannedServer): string {
  const parts = [planned.scenario.id, `w${planned.workers}`];
  if (planned.serverCpus !== null) parts.push(`cpu${planned.serverCpus.join('-')}`);
  if (planned.accept !== null) parts.push(planned.accept);
  return parts.join('-');
}

/** What the plan knows of a server before it starts; the started server fills in the rest. */
export function describePlanned(
  planned: PlannedServer,
  profile: Profile,
  nginxInfo: Environment['nginx'],
): ScenarioResult['server'] {
  const s = planned.scenario.server;
  switch (s.kind) {
    case 'scaleup':
      return {
        kind: 'scaleup',
        resource: s.resource,
        accept: planned.accept ?? s.accept,
        workers: planned.workers,
        backlog: s.backlog,
        send: s.send,
        // Known once the server has started and said whether its addon loaded.
        zeroCopy: false,
      };
    case 'nginx':
      return {
        kind: 'nginx',
        preset: s.preset ?? profile.nginxPreset,
        workers: planned.workers,
        version: nginxInfo.version,
        settings: {},
      };
    case 'command':
      return { kind: 'command', command: s.command, cwd: s.cwd ?? null };
  }
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
