/**
 * Older results.json files stay readable: a version-1 file is lifted to the current shape before
 * validation. Its summaries are recomputed from its repetitions, because version 1 claimed 95%
 * bootstrap intervals that small samples do not support; the measurements themselves are kept
 * exactly as recorded.
 */

type Raw = Record<string, unknown>;

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Version 1 (one point per scenario, bootstrap intervals) to version 2. Leaves other input alone. */
export function upgradeVersion1(value: Raw): { value: Raw; upgraded: boolean } {
  if (value.schemaVersion !== 1) return { value, upgraded: false };
  const plan = isObject(value.plan) ? value.plan : {};
  const topology = isObject(value.topology) ? value.topology : {};
  const scenarios = Array.isArray(value.scenarios) ? value.scenarios.filter(isObject) : [];
  const workersOf = (s: Raw): number => {
    const server = isObject(s.server) ? s.server : {};
    return typeof server.workers === 'number' ? server.workers : 1;
  };
  const workerCounts = [...new Set(scenarios.map(workersOf))].sort((a, b) => a - b);
  const connections = typeof plan.connections === 'number' ? plan.connections : 1;
  const upgradedScenarios = scenarios.map((s) => {
    const server = isObject(s.server) ? s.server : {};
    const verification = isObject(s.verification)
      ? {
          ...s.verification,
          responseForms:
            typeof s.verification.responseBytes === 'number'
              ? [{ bytes: s.verification.responseBytes, closes: false }]
              : [],
          closeAfterRequests: null,
        }
      : s.verification;
    return {
      ...s,
      scenarioId: s.id,
      point: {
        workers: workersOf(s),
        connections:
          s.baseline === true && typeof plan.baselineConnections === 'number'
            ? plan.baselineConnections
            : connections,
        serverCpus: Array.isArray(topology.serverCpus) ? topology.serverCpus : null,
        loadCpus: Array.isArray(topology.loadCpus) ? topology.loadCpus : null,
        accept: server.kind === 'scaleup' && typeof server.accept === 'string' ? server.accept : null,
      },
      serverHost: 'local',
      verification,
      // Recomputed after validation (see parseResults).
      summary: null,
    };
  });
  return {
    upgraded: true,
    value: {
      ...value,
      schemaVersion: 2,
      run: isObject(value.run) ? { ...value.run, source: 'measured' } : value.run,
      hosts: [],
      plan: {
        ...plan,
        sweep: {
          workers: workerCounts.length ? workerCounts : [1],
          connections: [connections],
          serverCpus: null,
          accept: null,
        },
        adaptive: null,
        confidenceTarget: 0.95,
        loadHosts: ['local'],
      },
      scenarios: upgradedScenarios,
      stopping: [],
      scaling: [],
    },
  };
}
