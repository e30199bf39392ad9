// Shared bench plumbing: timing, percentiles, a temp colony, and the table + JSON output.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createColony } from '../dist/index.js';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { n: sorted.length, mean, p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0], max: sorted[sorted.length - 1] };
}

export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

export async function withTempColony(config, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'colony-bench-'));
  const colony = await createColony({ projectDir: dir, env: {}, config: { log: { level: 'silent' }, ...config } });
  try {
    return await fn(colony, dir);
  } finally {
    await colony.close({ drainTimeoutMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  }
}

export function machine() {
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) };
}

/** Prints rows as an aligned table and writes the whole result as JSON. */
export function report(name, rows) {
  const headers = ['benchmark', 'result', 'unit', 'target', 'detail'];
  const cells = rows.map((r) => [r.name, fmt(r.value), r.unit, r.target ?? '', r.detail ?? '']);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c) => c.map((x, i) => String(x).padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), rows }, null, 2));
  console.log(`\nwrote ${file}`);
}

function fmt(v) {
  if (typeof v !== 'number') return String(v);
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

/**
 * Starts the fake LLM server in its own process (bench/fake-llm-process.js), as a real model server
 * would be; resolves with its URLs and a `close` function.
 */
export async function startFakeLlmProcess(toolRounds, delayMs) {
  const { spawn } = await import('node:child_process');
  const { once } = await import('node:events');
  const { createInterface } = await import('node:readline');
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fake-llm-process.js');
  const child = spawn(process.execPath, [script, String(toolRounds), String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return {
    ...JSON.parse(line),
    close: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
