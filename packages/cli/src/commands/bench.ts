import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BenchEvent,
  BenchInterrupted,
  createDefaultDeps,
  createRunDirectory,
  DEFAULT_PROFILES_PATH,
  DEFAULT_SUITE_PATH,
  formatDuration,
  loadProfiles,
  loadSuite,
  REPO_DIR,
  runBench,
  updateLatestLink,
} from '@scaleup/bench';
import {
  ACCEPT_MODES,
  LOAD_TOOLS,
  type LoadToolName,
  type Profile,
  type ResultsFile,
  ScenarioError,
  selectScenarios,
  UsageError,
} from '@scaleup/core';
import { writeReports } from '@scaleup/report';
import {
  choiceListOption,
  choiceOption,
  intListOption,
  intOption,
  numberOption,
  parseCommandArgs,
} from '../args.ts';
import type { Command } from '../command.ts';
import { runImportCommand } from './bench-import.ts';
import { repetitionLine, roundsLine, scalingLines, summaryTable } from './bench-output.ts';
import { runOverheadCommand } from './bench-overhead.ts';

const HELP = `usage: pnpm bench [options]        (pnpm bench:all runs the whole suite, then the reports)

Runs the seed's experiment: starts each server (scaleup and a real nginx), checks its answer,
warms it up, and measures interleaved repetitions with a real load tool. Writes
results/<date-time>-<host>/results.json (rewritten after every repetition), the raw output of
every tool run, then results.xlsx, results.pdf, results.html and results.md.

  --profile NAME        default | seed | server-bound | scaling | concurrency | smoke
                        (default: default); see scenarios/profiles.json
  --suite FILE          scenario suite (default: scenarios/seed.json)
  --profiles FILE       profiles file (default: scenarios/profiles.json)
  --only IDS            comma-separated scenario ids, e.g. 1a,nginx-1
  --all                 every scenario of the suite (the default; refuses --only)
  --tool NAME           ${LOAD_TOOLS.join(' | ')} (default: the profile's first installed)
  --reps N              repetitions (rounds) per scenario; the minimum with --target-ci
  --target-ci PCT       add interleaved rounds until every ratio's 95% interval is within
                        ±PCT% (e.g. 5), up to --max-reps and --time-budget
  --max-reps N          most rounds with --target-ci (default: 3 x --reps)
  --time-budget SECONDS wall time for the measured rounds with --target-ci
  --no-adaptive         a fixed --reps even if the profile is adaptive
  --requests N          requests per repetition (fixed-count mode, like weighttp -n)
  --duration SECONDS    seconds per repetition (duration mode)
  --connections N[,N..] concurrent connections (-c); a list is a sweep: 16,64,256
  --threads N           load tool threads (-t)
  --workers N[,N..]     server and nginx workers (default: the CPUs the server side gets); a
                        list is a sweep (1,2,4,8): with pinning each point's server side gets
                        one CPU per worker and a point the machine cannot give is skipped
  --server-cpus N[,N..] CPUs for the server side per point (pinned); a list is a sweep
  --accept MODES        scaleup accept modes to compare: shared,reuseport,rr (a sweep)
  --warmup-runs N       warm-up runs per server before measuring
  --nginx-preset NAME   stock | tuned
  --no-pin              do not split and pin CPUs between servers and the load tool
  --server-quota CPUS   cap every server at this many CPUs with a cgroup quota (root), so the
                        servers, not the load tool, are the bottleneck; e.g. 0.6
  --load-host DEST      run the load tool on DEST over ssh (repeatable: the hosts start
                        together and their results are merged); DEST is an ssh destination
                        or a Host of the ssh config
  --server-host DEST    run the servers under test (scaleup, nginx, commands) on DEST
  --ssh-config FILE     passed as ssh -F FILE to every ssh call
  --remote-dir DIR      the scaleup checkout on the other hosts (default: this checkout's path)
  --server-address ADDR the address the load reaches the servers at (default: found over ssh)
  --out DIR             write the run here instead of results/<date-time>-<host>/
  --no-report           stop after results.json
  --json                print the final results.json to stdout (progress stays on stderr)
  -h, --help            this text

pnpm bench overhead [--help]   measures the harness's own overhead against the tool run by hand
pnpm bench import [--help]     turns outputs of load tools run by hand into a results.json

With a sweep, every scenario runs at every point (ids like 2a@w2,c64), each compared with nginx
at the same point; the reports add scaling curves (speedup, efficiency, fairness, latency).

Exit status: 0 every repetition valid; 1 some repetitions invalid or scenarios skipped (the
summary says which and why); 2 bad input; 130/143 interrupted (partial results kept).`;

function applyOverrides(profile: Profile, values: Record<string, string | boolean | undefined>): Profile {
  const str = (key: string) => values[key] as string | undefined;
  const next: Profile = { ...profile };
  if (str('requests') !== undefined && str('duration') !== undefined) {
    throw new UsageError('--requests and --duration exclude each other');
  }
  if (str('requests') !== undefined) {
    next.requests = intOption(str('requests'), 'requests', 0, 1);
    delete next.durationSeconds;
  }
  if (str('duration') !== undefined) {
    next.durationSeconds = intOption(str('duration'), 'duration', 0, 1, 86_400);
    delete next.requests;
  }
  if (str('reps') !== undefined) next.repetitions = intOption(str('reps'), 'reps', 0, 1, 1000);
  if (values.adaptive === false) {
    delete next.targetCiPercent;
    delete next.maxRepetitions;
    delete next.timeBudgetSeconds;
  }
  if (str('target-ci') !== undefined)
    next.targetCiPercent = numberOption(str('target-ci'), 'target-ci', 0, 0.1);
  if (str('max-reps') !== undefined)
    next.maxRepetitions = intOption(str('max-reps'), 'max-reps', 0, 1, 10_000);
  if (str('time-budget') !== undefined)
    next.timeBudgetSeconds = numberOption(str('time-budget'), 'time-budget', 0, 1);
  if (
    next.targetCiPercent === undefined &&
    (next.maxRepetitions !== undefined || next.timeBudgetSeconds !== undefined)
  ) {
    throw new UsageError('--max-reps and --time-budget bound adaptive repetitions: give --target-ci too');
  }
  if (next.maxRepetitions !== undefined && next.maxRepetitions < next.repetitions) {
    throw new UsageError(`--max-reps (${next.maxRepetitions}) is below --reps (${next.repetitions})`);
  }
  const connections = intListOption(str('connections'), 'connections', 1, 1_000_000);
  if (connections !== undefined) {
    next.connections = connections.length === 1 ? connections[0]! : connections;
    delete next.baselineConnections;
  }
  if (str('threads') !== undefined) next.threads = intOption(str('threads'), 'threads', 0, 1, 1024);
  const workersValue = str('workers');
  if (workersValue === 'auto' || workersValue === 'powers-of-two') next.workers = workersValue;
  else {
    const workers = intListOption(workersValue, 'workers', 1, 1024);
    if (workers !== undefined) next.workers = workers.length === 1 ? workers[0]! : workers;
  }
  const serverCpus = intListOption(str('server-cpus'), 'server-cpus', 1, 4096);
  if (serverCpus !== undefined) next.serverCpus = serverCpus;
  const accept = choiceListOption(str('accept'), 'accept', ACCEPT_MODES);
  if (accept !== undefined) next.accept = accept;
  if (str('warmup-runs') !== undefined)
    next.warmupRuns = intOption(str('warmup-runs'), 'warmup-runs', 0, 0, 100);
  if (str('nginx-preset') !== undefined)
    next.nginxPreset = choiceOption(str('nginx-preset'), 'nginx-preset', ['stock', 'tuned'], 'tuned');
  if (values.pin === false) next.pinning = 'none';
  if (str('server-quota') !== undefined)
    next.serverCpuQuotaCores = numberOption(str('server-quota'), 'server-quota', 0, 0.05);
  const fewest = Math.min(...(Array.isArray(next.connections) ? next.connections : [next.connections]));
  if (fewest < next.threads)
    throw new UsageError(`--connections (${fewest}) is below --threads (${next.threads})`);
  return next;
}

async function scaleupVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(REPO_DIR, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Progress goes to stderr: a line per repetition, and on a terminal a live line while one runs. */
function progressPrinter(stream: NodeJS.WriteStream) {
  const live = stream.isTTY === true;
  let liveShown = false;
  const clearLive = () => {
    if (liveShown) {
      stream.write('\r\x1b[2K');
      liveShown = false;
    }
  };
  const print = (line: string) => {
    clearLive();
    stream.write(`${line}\n`);
  };
  let current = '';
  return (event: BenchEvent) => {
    switch (event.type) {
      case 'plan':
        print(
          `scaleup bench: ${event.runs}${event.maxRuns > event.runs ? ` to ${event.maxRuns}` : ''} measured runs` +
            `${event.points > 1 ? ` over ${event.points} scenario points` : ''} with ${event.tool}; ${event.topology.description}`,
        );
        print(`writing ${event.outDir}`);
        break;
      case 'warning':
        print(`warning: ${event.message}`);
        break;
      case 'scenario-skipped':
        print(`skipped ${event.scenarioId}: ${event.reason}`);
        break;
      case 'server-ready':
        print(`${event.scenarioId}: verified ${event.url}`);
        break;
      case 'warmup':
        print(
          `${event.scenarioId}: warm-up ${event.run}: ${Math.round(event.requestsPerSecond).toLocaleString('en-US')} req/s`,
        );
        break;
      case 'rep-start':
        current = `[${event.index}/${event.runs}] ${event.scenarioId} rep ${event.round + 1}/${event.rounds}`;
        if (live) {
          stream.write(`\r\x1b[2K${current} starting`);
          liveShown = true;
        }
        break;
      case 'rep-progress':
        if (live) {
          const p = event.progress;
          const parts = [`${p.elapsedSeconds.toFixed(1)} s`];
          if (p.requestsDone !== null) parts.push(`${p.requestsDone.toLocaleString('en-US')} requests`);
          if (p.requestsPerSecond !== null)
            parts.push(`${Math.round(p.requestsPerSecond).toLocaleString('en-US')} req/s`);
          stream.write(`\r\x1b[2K${current} ${parts.join(', ')}`);
          liveShown = true;
        }
        break;
      case 'rounds':
        print(roundsLine(event));
        break;
      case 'rep-done':
        print(
          repetitionLine({
            ...event,
            eta:
              event.etaSeconds === null
                ? null
                : event.etaMaxSeconds !== null && event.etaMaxSeconds > event.etaSeconds + 1
                  ? `${formatDuration(event.etaSeconds)} (at most ${formatDuration(event.etaMaxSeconds)})`
                  : formatDuration(event.etaSeconds),
          }),
        );
        break;
    }
  };
}

export const benchCommand: Command = {
  name: 'bench',
  async run(argv) {
    if (argv[0] === 'overhead') return runOverheadCommand(argv.slice(1));
    if (argv[0] === 'import') return runImportCommand(argv.slice(1));
    const { values } = parseCommandArgs(argv, {
      profile: { type: 'string' },
      suite: { type: 'string' },
      profiles: { type: 'string' },
      only: { type: 'string' },
      all: { type: 'boolean' },
      tool: { type: 'string' },
      reps: { type: 'string' },
      'target-ci': { type: 'string' },
      'max-reps': { type: 'string' },
      'time-budget': { type: 'string' },
      adaptive: { type: 'boolean' },
      'server-cpus': { type: 'string' },
      accept: { type: 'string' },
      'load-host': { type: 'string', multiple: true },
      'server-host': { type: 'string' },
      'ssh-config': { type: 'string' },
      'remote-dir': { type: 'string' },
      'server-address': { type: 'string' },
      requests: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      workers: { type: 'string' },
      'warmup-runs': { type: 'string' },
      'nginx-preset': { type: 'string' },
      'server-quota': { type: 'string' },
      pin: { type: 'boolean' },
      out: { type: 'string' },
      report: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (values.all && values.only !== undefined) throw new UsageError('--all and --only exclude each other');
    let suite: Awaited<ReturnType<typeof loadSuite>>;
    let profiles: Record<string, Profile>;
    try {
      suite = await loadSuite(values.suite === undefined ? DEFAULT_SUITE_PATH : resolve(values.suite));
      profiles = await loadProfiles(
        values.profiles === undefined ? DEFAULT_PROFILES_PATH : resolve(values.profiles),
      );
    } catch (error) {
      if (error instanceof ScenarioError) throw new UsageError(error.message);
      throw error;
    }
    const profileName = values.profile ?? suite.profile ?? 'default';
    const baseProfile = profiles[profileName];
    if (baseProfile === undefined) {
      throw new UsageError(
        `unknown --profile '${profileName}' (profiles: ${Object.keys(profiles).join(', ')})`,
      );
    }
    const profile = applyOverrides(baseProfile, values as Record<string, string | boolean | undefined>);
    // The command line wins over the profile, the profile over the suite.
    const hosts = { ...suite.hosts, ...profile.hosts };
    const loadHosts = values['load-host'] ?? hosts.load ?? [];
    const sshConfig = values['ssh-config'] ?? hosts.sshConfig;
    const remote = {
      loadHosts,
      serverHost: values['server-host'] ?? hosts.server ?? null,
      sshConfig: sshConfig === undefined ? undefined : resolve(sshConfig),
      remoteDir: values['remote-dir'] ?? hosts.remoteDir,
      serverAddress: values['server-address'] ?? hosts.serverAddress,
    };
    if (new Set(remote.loadHosts).size !== remote.loadHosts.length) {
      throw new UsageError(`--load-host names a host twice: ${remote.loadHosts.join(', ')}`);
    }
    const tool =
      values.tool === undefined
        ? undefined
        : choiceOption<LoadToolName>(values.tool, 'tool', LOAD_TOOLS, 'autocannon');
    let scenarios: ReturnType<typeof selectScenarios>;
    try {
      scenarios = selectScenarios(
        suite,
        values.only
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    } catch (error) {
      if (error instanceof ScenarioError) throw new UsageError(error.problems.join('; '));
      throw error;
    }

    const startedAt = new Date();
    const createdRunDir = values.out === undefined;
    const outDir =
      values.out === undefined
        ? await createRunDirectory(join(REPO_DIR, 'results'), startedAt)
        : resolve(values.out);
    const controller = new AbortController();
    let signalled: NodeJS.Signals | null = null;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled !== null) {
        // A second Ctrl-C: the user wants out now; children die with us (pdeathsig).
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      signalled = signal;
      process.stderr.write(
        `\nscaleup bench: ${signal}: stopping load tools and servers, keeping partial results\n`,
      );
      controller.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let results: ResultsFile;
    try {
      results = await runBench(
        {
          suite,
          scenarios,
          profileName,
          profile,
          tool,
          outDir,
          argv,
          runId: outDir.split('/').pop() ?? 'run',
          scaleupVersion: await scaleupVersion(),
          repoDir: REPO_DIR,
          signal: controller.signal,
          remote,
          onEvent: progressPrinter(process.stderr),
        },
        await createDefaultDeps(),
      );
    } catch (error) {
      if (error instanceof BenchInterrupted) {
        process.stderr.write(
          `scaleup bench: interrupted; partial results in ${join(outDir, 'results.json')}\n`,
        );
        if (values.out === undefined) await updateLatestLink(outDir);
        return signalled === 'SIGTERM' ? 143 : 130;
      }
      if (error instanceof UsageError && createdRunDir) {
        // Refused before anything was measured: leave no empty run behind.
        await rm(outDir, { recursive: true, force: true });
      } else if (createdRunDir) {
        await updateLatestLink(outDir).catch(() => undefined);
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (values.out === undefined) await updateLatestLink(outDir);

    process.stderr.write(`\n${summaryTable(results)}\n\n`);
    const curves = scalingLines(results);
    if (curves.length > 0) process.stderr.write(`${curves.join('\n')}\n\n`);
    process.stderr.write(`results: ${join(outDir, 'results.json')}\n`);
    if (values.report !== false) {
      const written = await writeReports(join(outDir, 'results.json'), outDir);
      process.stderr.write(`reports: ${Object.values(written).join('\n         ')}\n`);
    }
    if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

    const problems: string[] = [];
    for (const s of results.scenarios) {
      if (s.skipped !== null) problems.push(`${s.id} skipped: ${s.skipped}`);
      const invalid = s.repetitions.filter((r) => !r.verdict.valid);
      if (invalid.length > 0) {
        problems.push(
          `${s.id}: ${invalid.length} invalid repetition(s): ${invalid[0]!.verdict.reasons.join('; ')}`,
        );
      }
    }
    for (const problem of problems) process.stderr.write(`problem: ${problem}\n`);
    return problems.length === 0 ? 0 : 1;
  },
};
