#!/usr/bin/env node
// Long fuzzing runs: `pnpm fuzz [--seconds N] [--parallel] [target ...]`.
// Each target is a test/fuzz/*.test.ts file run by vitest with FUZZ_SECONDS (split across its
// properties) instead of the test suite's few hundred inputs. Prints, per target, how long it ran,
// how many inputs each property saw, and whether any failed. A target that outlives its budget by
// far is killed and reported as a hang. Exit code 1 when any target failed or hung.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGETS = {
  decoders: { project: 'core', file: 'test/fuzz/decoders.test.ts' },
  'http-request': { project: 'server', file: 'test/fuzz/http-request.test.ts' },
  'output-parsers': { project: 'driver', file: 'test/fuzz/output-parsers.test.ts' },
};

function usage(problem) {
  console.error(`fuzz: ${problem}`);
  console.error(`usage: pnpm fuzz [--seconds N] [--parallel] [${Object.keys(TARGETS).join('|')} ...]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let seconds = Number(process.env.FUZZ_SECONDS ?? 600);
let parallel = false;
const chosen = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--seconds') seconds = Number(args[++i]);
  else if (arg?.startsWith('--seconds=')) seconds = Number(arg.slice('--seconds='.length));
  else if (arg === '--parallel') parallel = true;
  else if (arg in TARGETS) chosen.push(arg);
  else usage(`unknown argument ${JSON.stringify(arg)}`);
}
if (!Number.isFinite(seconds) || seconds <= 0) usage('--seconds takes a positive number');
const names = chosen.length > 0 ? chosen : Object.keys(TARGETS);

const root = fileURLToPath(new URL('../', import.meta.url));
const reportDir = mkdtempSync(join(tmpdir(), 'scaleup-fuzz-'));

function runTarget(name) {
  const { project, file } = TARGETS[name];
  const report = join(reportDir, `${name}.jsonl`);
  const started = Date.now();
  // Twice the budget plus time to start and shrink: beyond that one input is stuck.
  const killAfterMs = seconds * 2000 + 300_000;
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', project, file],
      {
        cwd: root,
        env: { ...process.env, FUZZ_SECONDS: String(seconds), FUZZ_REPORT: report },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let properties = [];
      try {
        properties = readFileSync(report, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line));
      } catch {
        // No property finished (a crash at load time or a hang): the output says why.
      }
      resolve({ name, code, hung, seconds: (Date.now() - started) / 1000, properties, output });
    });
  });
}

const results = [];
if (parallel) results.push(...(await Promise.all(names.map(runTarget))));
else for (const name of names) results.push(await runTarget(name));

let bad = false;
for (const r of results) {
  const inputs = r.properties.reduce((sum, p) => sum + p.inputs, 0);
  const failed = r.hung || r.code !== 0;
  bad ||= failed;
  const verdict = r.hung ? 'HUNG (killed)' : failed ? 'FAILED' : 'ok';
  console.log(`${r.name}: ${verdict}, ${r.seconds.toFixed(0)} s, ${inputs} inputs`);
  for (const p of r.properties) {
    console.log(`  ${p.property}: ${p.inputs} inputs in ${p.seconds} s${p.passed ? '' : ' FAILED'}`);
  }
  if (failed) console.log(r.output.split('\n').slice(-80).join('\n'));
}
rmSync(reportDir, { recursive: true, force: true });
process.exit(bad ? 1 : 0);
