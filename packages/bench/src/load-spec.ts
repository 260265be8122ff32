import type { LoadSpec, Profile } from '@scaleup/core';

/** The load of one run at one point; warm-ups are shorter, measured runs follow the profile. */
export function loadSpecFor(
  profile: Profile,
  input: {
    url: string;
    payloadBytes: number;
    connections: number;
    cpus: number[] | undefined;
    /** Tool threads when not the profile's (a tool sized to its CPUs). */
    threads?: number;
    allowedTargets?: string[];
    /** Open loop: the offered rate of a measured rate point (warm-ups stay closed loop). */
    ratePerSecond?: number | null;
  },
  warmup: boolean,
): LoadSpec {
  const { connections } = input;
  const spec: LoadSpec = {
    url: input.url,
    connections,
    threads: Math.min(input.threads ?? profile.threads, connections),
    keepAlive: profile.keepAlive,
    method: 'GET',
    headers: {},
    timeoutSeconds: profile.timeoutSeconds,
    cpus: input.cpus,
    expectedBodyBytes: input.payloadBytes,
    ...(input.allowedTargets === undefined || input.allowedTargets.length === 0
      ? {}
      : { allowedTargets: input.allowedTargets }),
  };
  if (profile.durationSeconds !== undefined) {
    // Whole seconds: wrk and h2load take no fractions.
    spec.durationSeconds = warmup ? Math.max(1, Math.ceil(profile.warmupSeconds)) : profile.durationSeconds;
  } else {
    const requests = profile.requests!;
    // Count-only tools get a warm-up sized like warmupSeconds at a modest 50k req/s.
    spec.requests = warmup
      ? Math.max(connections, Math.min(requests, Math.round(50_000 * profile.warmupSeconds)))
      : requests;
  }
  if (!warmup && input.ratePerSecond != null) {
    spec.ratePerSecond = input.ratePerSecond;
    spec.maxConnections = openLoopConnectionBound(input.ratePerSecond, connections);
  }
  return spec;
}

/** The in-flight time the connection bound of an open-loop run allows for at its rate. */
export const OPEN_LOOP_IN_FLIGHT_SECONDS = 0.02;
/** The most connections an open-loop run may open, whatever its rate. */
export const OPEN_LOOP_MAX_CONNECTIONS = 20_000;

/**
 * Open loop: the profile's connections are the lower bound, and the tool opens more while
 * requests would otherwise wait, up to enough for every request of 20 ms at the rate to be in
 * flight at once. Beyond that a request waits in the tool for a connection, and its wait is
 * still charged from its intended send time. A bound of thousands measured worse here: a server
 * that fell behind for a moment was sent a storm of new connections (about 20,000 within a
 * second at 39,000/s), spent its CPU on handshakes, and the run collapsed to a third of the
 * offered rate with the tool itself falling behind. openloop lowers the bound further to what
 * the open-files limit allows.
 */
export function openLoopConnectionBound(ratePerSecond: number, connections: number): number {
  return Math.max(
    connections,
    Math.min(OPEN_LOOP_MAX_CONNECTIONS, Math.ceil(ratePerSecond * OPEN_LOOP_IN_FLIGHT_SECONDS)),
  );
}

/** Ids like `2a@w2,c64` become file names without a comma or an at sign. */
export function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
