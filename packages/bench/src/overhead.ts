import { join } from 'node:path';
import {
  type LoadSpec,
  type LoadToolName,
  type RatioEstimate,
  ratioEstimate,
  SERVER_DEFAULT_BACKLOG,
  type Summary,
  summarize,
} from '@scaleup/core';
import { allowedCpus } from '@scaleup/core/io';
import { adapterFor, runLoad } from '@scaleup/driver';
import { execa } from 'execa';
import { localPlace, startScaleupServer } from './servers.ts';
import { planTopology } from './topology.ts';

export interface OverheadOptions {
  tool: LoadToolName;
  pairs: number;
  durationSeconds: number;
  connections: number;
  threads: number;
  payloadBytes: number;
  resource: 'fixed' | 'file';
  workDir: string;
  onPair?: (pair: OverheadPair, index: number) => void;
}

export interface OverheadPair {
  harnessRequestsPerSecond: number;
  byHandRequestsPerSecond: number;
  /** Which ran first in this pair; the order alternates so neither side always gets a warm machine. */
  harnessFirst: boolean;
}

export interface OverheadReport {
  tool: LoadToolName;
  byHandCommand: string[];
  pairs: OverheadPair[];
  harness: Summary;
  byHand: Summary;
  /** Harness req/s over by-hand req/s, paired. 1.00 means no overhead. */
  ratio: RatioEstimate;
}

/**
 * The runner's own cost: the same load, against the same server, once through the driver (pinned,
 * supervised, CPU-metered, parsed) and once as a user would type it (`taskset -c N tool args`),
 * in interleaved pairs. Both sides read req/s the same way, from succeeded responses.
 */
export async function measureHarnessOverhead(options: OverheadOptions): Promise<OverheadReport> {
  const topology = planTopology('split', allowedCpus());
  const loadCpus = topology.loadCpus ?? undefined;
  const adapter = adapterFor(options.tool);
  const detection = await adapter.detect();
  if (!detection.found) throw new Error(`${options.tool} is not available: ${detection.reason}`);
  const server = await startScaleupServer({
    resource: options.resource,
    accept: 'shared',
    workers: topology.serverCpus?.length ?? 1,
    backlog: SERVER_DEFAULT_BACKLOG,
    send: 'auto',
    payloadBytes: options.payloadBytes,
    cpus: topology.serverCpus ?? undefined,
    place: localPlace(),
    logPath: join(options.workDir, 'server.log'),
  });
  try {
    const spec: LoadSpec = {
      url: server.url,
      durationSeconds: options.durationSeconds,
      connections: options.connections,
      threads: options.threads,
      keepAlive: true,
      method: 'GET',
      headers: {},
      timeoutSeconds: options.durationSeconds + 30,
      cpus: loadCpus,
      expectedBodyBytes: options.payloadBytes,
    };
    const toolCommand = adapter.command(spec, detection.path);
    const byHand =
      loadCpus === undefined
        ? [toolCommand.file, ...toolCommand.args]
        : ['taskset', '-c', loadCpus.join(','), toolCommand.file, ...toolCommand.args];
    const runHarness = async () => (await runLoad(spec, { tool: options.tool })).requestsPerSecond;
    const runByHand = async () => {
      const [file, ...args] = byHand;
      const run = await execa(file!, args, {
        reject: false,
        env: toolCommand.env,
        timeout: spec.timeoutSeconds * 1000,
      });
      return adapter.parse(String(run.stdout), String(run.stderr), run.exitCode ?? null, {
        expectedBodyBytes: options.payloadBytes,
        inFlightResponses: options.connections,
      }).requestsPerSecond;
    };
    // One unmeasured run of each warms the server and the page cache.
    await runHarness();
    await runByHand();
    const pairs: OverheadPair[] = [];
    for (let i = 0; i < options.pairs; i++) {
      const harnessFirst = i % 2 === 0;
      let harness: number;
      let hand: number;
      if (harnessFirst) {
        harness = await runHarness();
        hand = await runByHand();
      } else {
        hand = await runByHand();
        harness = await runHarness();
      }
      const pair = { harnessRequestsPerSecond: harness, byHandRequestsPerSecond: hand, harnessFirst };
      pairs.push(pair);
      options.onPair?.(pair, i);
    }
    const valid = pairs.filter((p) => p.harnessRequestsPerSecond > 0 && p.byHandRequestsPerSecond > 0);
    if (valid.length === 0) throw new Error('no pair produced successful responses on both sides');
    return {
      tool: options.tool,
      byHandCommand: byHand,
      pairs,
      harness: summarize(valid.map((p) => p.harnessRequestsPerSecond)),
      byHand: summarize(valid.map((p) => p.byHandRequestsPerSecond)),
      ratio: ratioEstimate(
        valid.map((p) => p.harnessRequestsPerSecond),
        valid.map((p) => p.byHandRequestsPerSecond),
        { paired: true },
      ),
    };
  } finally {
    await server.stop();
  }
}
