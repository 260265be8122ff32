import { join } from 'node:path';
import {
  type Environment,
  type PlanGroup,
  type PlannedServer,
  type Profile,
  type ScenarioResult,
  SERVER_DEFAULT_BACKLOG,
} from '@scaleup/core';
import { checkAbort, type RunnerDeps } from '../ports.ts';
import {
  type ServerPlace,
  type ServerUnderTest,
  startCommandServer,
  startScaleupServer,
} from '../servers.ts';
import type { RunContext } from './context.ts';
import { verifyServer, verifyStarted } from './verify.ts';

/** The servers of a group that started and answered as they must, by their plan key. */
export type RunningServers = Map<string, ServerUnderTest>;

/**
 * Starts every server of the group, one after another, and verifies each: a server that does not
 * start or answers wrongly skips its points (with the reason) and the rest go on.
 */
export async function startGroup(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
): Promise<void> {
  const { options } = context;
  for (const planned of group.servers) {
    checkAbort(options.signal);
    const instances = group.instances.filter((i) => i.serverKey === planned.key);
    const server = await startServer(planned, {
      deps: context.deps,
      nginxInfo: context.run.nginxInfo,
      profile: options.profile,
      connections: Math.max(...instances.map((i) => i.point.connections)),
      backlog: SERVER_DEFAULT_BACKLOG,
      place: context.run.place,
      logDir: context.logDir,
      perfMap: options.cpuProfile !== undefined,
    }).catch((error: Error) => error);
    if (server instanceof Error) {
      await skipInstances(context, instances, server.message);
      continue;
    }
    running.set(planned.key, server);
    if (context.quotaGroup !== null) {
      for (const p of await server.processes()) await context.quotaGroup.add(p.pid);
    }
    const failed = await verifyStarted(context, planned, instances, server);
    if (failed !== null) {
      await skipInstances(context, instances, failed);
      await server.stop();
      running.delete(planned.key);
      continue;
    }
    for (const instance of instances) {
      options.onEvent({ type: 'server-ready', scenarioId: instance.id, url: server.url });
    }
  }
}

async function skipInstances(context: RunContext, instances: readonly { id: string }[], reason: string) {
  for (const instance of instances) {
    context.store.result(instance.id).skipped = reason;
    context.options.onEvent({ type: 'scenario-skipped', scenarioId: instance.id, reason });
  }
  await context.store.save();
}

export interface StartContext {
  deps: RunnerDeps;
  nginxInfo: Environment['nginx'];
  profile: Profile;
  /** Connections the server must be ready for (nginx sizes worker_connections by it). */
  connections: number;
  backlog: number;
  place: ServerPlace;
  logDir: string;
  /** Our workers write perf maps (--cpu-profile), so their JavaScript frames have names. */
  perfMap?: boolean;
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
        engine: s.engine,
        payloadBytes: scenario.payloadBytes,
        cpus,
        place: context.place,
        logPath,
        perfMap: context.perfMap === true,
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
        engine: s.engine,
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
