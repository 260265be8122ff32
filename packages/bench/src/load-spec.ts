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
  return spec;
}

/** Ids like `2a@w2,c64` become file names without a comma or an at sign. */
export function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
