// The peer-comparison workloads of the performance issue, each beside its plain-JavaScript floor
// measured in the same run: median CPU per unit of work over five fresh processes (CPU, not wall
// time, so that the machine's other load counts less). W1: a chain of 1,000 persisted tasks, each
// adding 1 to its predecessor's output; W2: a fan-out to 200 tasks and a join over all 200 outputs;
// W3: one agent on an in-process model, 50 tool turns then the answer (CPU per turn); W4: 1,000
// agent runs at once, each two 50 ms model calls (wall time for all 1,000, on Colony's defaults).
// Also the cost of importing the package over a bare `node -e 0`. Every sample checks its answer.
import { execFileSync, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { report, summarize } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SAMPLES = 5;
const IMPORT_RUNS = 15;

function sample(workload) {
  const out = execFileSync(process.execPath, [join(HERE, 'workload-sample.js'), workload], { encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop());
  if (!result.check) throw new Error(`${workload}: the workload's answer was wrong`);
  return result;
}

/** Median CPU µs per unit over fresh processes, and the median wall time (with its range). */
function measure(workload) {
  const samples = Array.from({ length: SAMPLES }, () => sample(workload));
  const perUnit = summarize(samples.map((s) => s.cpuUs / s.units));
  const wall = summarize(samples.map((s) => s.wallMs));
  return { perUnit: perUnit.p50, min: perUnit.min, max: perUnit.max, wallMs: wall.p50, wallMin: wall.min, wallMax: wall.max };
}

function median(values) {
  return summarize(values).p50;
}

function startupMs(args) {
  const times = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function run() {
  const load = loadavg()[0];
  const rows = [];
  const row = (name, m, target, unit = 'µs') =>
    rows.push({ name, value: m.perUnit, unit, target, detail: `median of ${SAMPLES} fresh processes (${m.min.toFixed(1)}–${m.max.toFixed(1)}); wall ${m.wallMs.toFixed(0)} ms` });
  row('W1 chain of 1,000, plain JS floor (CPU per step)', measure('w1-js'), '');
  row('W1 chain of 1,000, Colony persisted (CPU per step)', measure('w1-colony'), '<= 50 µs');
  row('W2 fan-out 200 + join, plain JS floor (CPU per branch)', measure('w2-js'), '');
  row('W2 fan-out 200 + join, Colony persisted (CPU per branch)', measure('w2-colony'), '<= 20 µs');
  row('W3 one agent, 50 tool turns, plain JS floor (CPU per turn)', measure('w3-js'), '');
  row('W3 one agent, 50 tool turns, Colony in-process model (CPU per turn)', measure('w3-colony'), '<= 100 µs');
  // W4 is wall time: 1,000 runs mostly waiting on their model, so the figure is how well they overlap.
  const wallRow = (name, m, target) =>
    rows.push({ name, value: m.wallMs, unit: 'ms', target, detail: `median of ${SAMPLES} fresh processes (${m.wallMin.toFixed(0)}–${m.wallMax.toFixed(0)}); CPU ${m.perUnit.toFixed(1)} µs per run` });
  wallRow('W4 1,000 agent runs at once, 2 × 50 ms model calls each, plain JS floor (wall for all)', measure('w4-js'), '');
  wallRow('W4 1,000 agent runs at once, 2 × 50 ms model calls each, Colony defaults (wall for all)', measure('w4-colony'), '<= 250 ms');
  const bare = startupMs(['-e', '0']);
  const entry = pathToFileURL(join(HERE, '..', 'dist', 'index.js')).href;
  const imported = startupMs(['--input-type=module', '-e', `await import(${JSON.stringify(entry)})`]);
  rows.push({ name: 'importing the package, over node -e 0', value: imported - bare, unit: 'ms', target: '<= 100 ms', detail: `median of ${IMPORT_RUNS}: ${imported.toFixed(0)} ms against ${bare.toFixed(0)} ms` });
  rows.push({ name: 'load average at the start (1 min)', value: load, unit: '', target: '', detail: 'the machine has 2 cores' });
  report('workloads', rows);
}
