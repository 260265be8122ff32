import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BenchEvent,
  BenchInterrupted,
  type CpuProfileMode,
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
  LOAD_TOOLS,
  type LoadToolName,
  type Profile,
  type ResultsFile,
  type Scenario,
  ScenarioError,
  type Suite,
  selectScenarios,
  UsageError,
  withoutRateStep,
} from '@scaleup/core';
import { noteStopping } from '@scaleup/core/io';
import { writeReports } from '@scaleup/report';
import { choiceOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { checkDestinations, checkOutDir, discardIfNothingRan, resultsRoot } from '../run-inputs.ts';
import { announceSuite } from '../suite-trust.ts';
import { runImportCommand } from './bench-import.ts';
import {
  ratesLine,
  rateTables,
  repetitionLine,
  roundsLine,
  scalingLines,
  summaryTable,
} from './bench-output.ts';
import { runOverheadCommand } from './bench-overhead.ts';
import { profileLine, takeCpuProfile } from './bench-profile.ts';
import { type BenchSettings, resolveSettings } from './bench-settings.ts';

const HELP = `usage: pnpm bench [options]        (pnpm bench:all runs the whole suite, then the reports)

Runs the seed's experiment: starts each server (scaleup and a real nginx), checks its answer,
warms it up, and measures interleaved repetitions with a real load tool. Writes
results/<date-time>-<host>/results.json (rewritten after every repetition), the raw output of
every tool run, then results.xlsx, results.pdf, results.html and results.md.

  --profile NAME        default | seed | server-bound | scaling | concurrency | latency | smoke
                        (default: default); see scenarios/profiles.json
  --suite FILE          scenario suite (default: scenarios/seed.json). A suite is code: one
                        from outside the checkout has its commands, ssh config and hosts
                        listed on stderr before anything starts (docs/security.md)
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
                        servers, not the load tool, are the bottleneck; e.g. 0.6 (no calibration)
  --no-calibrate        keep the even split: no tool share or server quota chosen from the
                        warm-up (the default profile calibrates: the tool keeps 20% headroom,
                        with a cgroup quota per group on two cores or unpinned, lowered
                        between rounds if the tool saturates again; docs/methodology.md);
                        --calibrate asks for it with any profile
  --rates STEPS         open loop: run every point at each offered rate, comma-separated: shares
                        of each server's own closed-loop capacity measured in warm-up (25%,50%,
                        75%,90%,100%) or responses per second (20000, 20k), mixed as you like.
                        Warm-up stays closed loop; the measured runs use openloop, which sends
                        on a fixed schedule and times each response from its intended send
                        (ids like 1a@r75%; docs/methodology.md, "Rate sweeps")
  --slo OBJECTIVE       with --rates: a latency objective, percentile=bound (p99=10ms,
                        p99.9=500us, max=1s), repeatable or comma-separated; reports the
                        highest offered rate that keeps it (capacity at the SLO) per server
  --load-host DEST      run the load tool on DEST over ssh (repeatable: the hosts start
                        together and their results are merged); DEST is an ssh destination
                        or a Host of the ssh config
  --server-host DEST    run the servers under test (scaleup, nginx, commands) on DEST
  --ssh-config FILE     passed as ssh -F FILE to every ssh call
  --remote-dir DIR      the scaleup checkout on the other hosts (default: this checkout's path)
  --server-address ADDR the address the load reaches the servers at (default: found over ssh)
  --out DIR             write the run here instead of results/<date-time>-<host>/
                        (results/ is $SCALEUP_RESULTS_DIR when set)
  --cpu-profile [tool]  after each scenario's measured rounds, one extra uncounted repetition
                        with every server process sampled by perf (cpu-clock, call stacks,
                        kernel frames); our workers get --perf-basic-prof for JavaScript names.
                        Writes profiles/<scenario>.folded and a breakdown in results.json;
                        'tool' profiles the load tool too (profiles/<scenario>.tool.folded).
                        Without perf the run goes on without profiles (docs/profiling.md)
  --no-report           stop after results.json
  --json                print the final results.json to stdout (progress stays on stderr)
  -h, --help            this text

pnpm bench overhead [--help]   measures the harness's own overhead against the tool run by hand
pnpm bench import [--help]     turns outputs of load tools run by hand into a results.json

With a sweep, every scenario runs at every point (ids like 2a@w2,c64), each compared with nginx
at the same point; the reports add scaling curves (speedup, efficiency, fairness, latency).

Exit status: 0 every repetition valid; 1 some repetitions invalid or scenarios skipped (the
summary says which and why); 2 bad input; 130/143 interrupted (partial results kept).`;

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
  const verifiedLines = new Set<string>();
  return (event: BenchEvent) => {
    switch (event.type) {
      case 'plan':
        print(
          `scaleup bench: ${event.runs}${event.maxRuns > event.runs ? ` to ${event.maxRuns}` : ''} measured runs` +
            `${event.points > 1 ? ` over ${event.points} scenario points` : ''} with ${event.tool}` +
            `${event.warmupTool === null ? '' : ` (warm-up closed loop with ${event.warmupTool})`}; ${event.topology.description}`,
        );
        print(`writing ${event.outDir}`);
        break;
      case 'warning':
        print(`warning: ${event.message}`);
        break;
      case 'scenario-skipped':
        print(`skipped ${event.scenarioId}: ${event.reason}`);
        break;
      case 'server-ready': {
        // Every rate step of a server is served by the one server: it is verified once.
        const line = `${withoutRateStep(event.scenarioId)}: verified ${event.url}`;
        if (!verifiedLines.has(line)) print(line);
        verifiedLines.add(line);
        break;
      }
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
      case 'calibration':
        print(`calibration ${event.decision}`);
        break;
      case 'rates':
        print(ratesLine(event));
        break;
      case 'profile':
        print(profileLine(event.scenarioId, event.profile, event.problem));
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

const FLAGS = {
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
  calibrate: { type: 'boolean' },
  rates: { type: 'string' },
  slo: { type: 'string', multiple: true },
  out: { type: 'string' },
  report: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof FLAGS>>['values'];

/** What the run is: the suite's chosen scenarios, the settings of every layer, the tool. */
interface BenchInputs {
  suite: Suite;
  scenarios: Scenario[];
  settings: BenchSettings;
  tool: LoadToolName | undefined;
  /** --cpu-profile, taken out of argv before the strict parse. */
  cpuProfile?: CpuProfileMode | undefined;
}

/** Where the run is written, and whether this command made that directory. */
interface RunDir {
  outDir: string;
  created: boolean;
}

async function readSuiteFiles(values: Values): Promise<{ suite: Suite; profiles: Record<string, Profile> }> {
  try {
    const suite = await loadSuite(values.suite === undefined ? DEFAULT_SUITE_PATH : resolve(values.suite));
    const profiles = await loadProfiles(
      values.profiles === undefined ? DEFAULT_PROFILES_PATH : resolve(values.profiles),
    );
    return { suite, profiles };
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
}

/** Everything the command line, the suite and the profile say, checked before anything is made. */
async function benchInputs(values: Values): Promise<BenchInputs> {
  if (values.all && values.only !== undefined) throw new UsageError('--all and --only exclude each other');
  const { suite, profiles } = await readSuiteFiles(values);
  const settings = resolveSettings(suite, profiles, values);
  checkDestinations(settings.remote);
  const tool =
    values.tool === undefined
      ? undefined
      : choiceOption<LoadToolName>(values.tool, 'tool', LOAD_TOOLS, 'autocannon');
  try {
    const only = values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { suite, scenarios: selectScenarios(suite, only), settings, tool };
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.problems.join('; '));
    throw error;
  }
}

/** The run directory: --out as given, or a new results/<date-time>-<host>/. */
async function openRunDir(values: Values, inputs: BenchInputs): Promise<RunDir> {
  if (values.out !== undefined) await checkOutDir(resolve(values.out));
  announceSuite(values, inputs.scenarios, inputs.settings.remote);
  const startedAt = new Date();
  return values.out === undefined
    ? { outDir: await createRunDirectory(resultsRoot(), startedAt), created: true }
    : { outDir: resolve(values.out), created: false };
}

/**
 * The run itself, stopped cleanly by the first SIGINT or SIGTERM (partial results kept) and at
 * once by a second. Returns the results, or the exit code of an interrupted run.
 */
async function runWithSignals(
  argv: string[],
  inputs: BenchInputs,
  run: RunDir,
): Promise<ResultsFile | number> {
  const { outDir } = run;
  const controller = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled !== null) {
      // A second Ctrl-C: the user wants out now; children die with us (pdeathsig).
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    signalled = signal;
    noteStopping();
    process.stderr.write(
      `\nscaleup bench: ${signal}: stopping load tools and servers, keeping partial results\n`,
    );
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runBench(
      {
        suite: inputs.suite,
        scenarios: inputs.scenarios,
        profileName: inputs.settings.profileName,
        profile: inputs.settings.profile,
        tool: inputs.tool,
        outDir,
        argv,
        runId: outDir.split('/').pop() ?? 'run',
        scaleupVersion: await scaleupVersion(),
        repoDir: REPO_DIR,
        signal: controller.signal,
        remote: inputs.settings.remote,
        onEvent: progressPrinter(process.stderr),
        cpuProfile: inputs.cpuProfile,
      },
      await createDefaultDeps(),
    );
  } catch (error) {
    if (error instanceof BenchInterrupted) {
      process.stderr.write(
        `scaleup bench: interrupted; partial results in ${join(outDir, 'results.json')}\n`,
      );
      if (run.created) await updateLatestLink(outDir);
      return signalled === 'SIGTERM' ? 143 : 130;
    }
    // Refused, or failed before anything started: leave no empty run behind.
    if (run.created && !(await discardIfNothingRan(outDir, error)))
      await updateLatestLink(outDir).catch(() => undefined);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The summary, the curves and where everything is; the reports unless --no-report. */
async function printOutcome(results: ResultsFile, outDir: string, values: Values): Promise<void> {
  // A rate sweep's throughput is what it offered: its table is latency against offered rate.
  const rates = rateTables(results);
  process.stderr.write(rates.length > 0 ? `\n${rates.join('\n')}\n` : `\n${summaryTable(results)}\n\n`);
  const curves = scalingLines(results);
  if (curves.length > 0) process.stderr.write(`${curves.join('\n')}\n\n`);
  process.stderr.write(`results: ${join(outDir, 'results.json')}\n`);
  if (values.report !== false) {
    const written = await writeReports(join(outDir, 'results.json'), outDir);
    process.stderr.write(`reports: ${Object.values(written).join('\n         ')}\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

/** 0 when every repetition was valid; 1, with each problem on a line, when some were not. */
function exitStatus(results: ResultsFile): number {
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
}

export const benchCommand: Command = {
  name: 'bench',
  async run(argv) {
    if (argv[0] === 'overhead') return runOverheadCommand(argv.slice(1));
    if (argv[0] === 'import') return runImportCommand(argv.slice(1));
    const { argv: rest, cpuProfile } = takeCpuProfile(argv);
    const { values } = parseCommandArgs(rest, FLAGS);
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const inputs = { ...(await benchInputs(values)), cpuProfile };
    const run = await openRunDir(values, inputs);
    const results = await runWithSignals(argv, inputs, run);
    if (typeof results === 'number') return results;
    if (run.created) await updateLatestLink(run.outDir);
    await printOutcome(results, run.outDir, values);
    return exitStatus(results);
  },
};
