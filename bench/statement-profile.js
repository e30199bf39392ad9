// Where a process's SQLite time goes, statement by statement: preload it into any run on the SQLite
// default, e.g. `node --import ./bench/statement-profile.js bench/workload-sample.js w1-colony`.
// At exit it prints (to stderr) each statement's count, CPU (process.cpuUsage around the call, so
// SQLite's own work on the main thread, I/O syscalls included) and CPU per call, the costliest first,
// and the total. It measures calls, not prepares; the hook costs about 1 µs per call, included.
import { StatementSync } from 'node:sqlite';

const SHOWN = Number(process.env.STATEMENT_PROFILE_ROWS ?? 15);
const SQL_SHOWN_CHARS = 110;
const bySql = new Map();

for (const method of ['all', 'run', 'get', 'iterate']) {
  const original = StatementSync.prototype[method];
  StatementSync.prototype[method] = function profiled(...args) {
    const start = process.cpuUsage();
    try {
      return original.apply(this, args);
    } finally {
      const used = process.cpuUsage(start);
      const key = `${method} ${this.sourceSQL.replace(/\s+/g, ' ')}`;
      const row = bySql.get(key) ?? { calls: 0, cpuUs: 0 };
      row.calls++;
      row.cpuUs += used.user + used.system;
      bySql.set(key, row);
    }
  };
}

process.on('exit', () => {
  const rows = [...bySql].sort((a, b) => b[1].cpuUs - a[1].cpuUs);
  const total = rows.reduce((sum, [, r]) => sum + r.cpuUs, 0);
  const calls = rows.reduce((sum, [, r]) => sum + r.calls, 0);
  const lines = [`SQLite statements: ${calls} calls, ${(total / 1000).toFixed(0)} ms of CPU`, 'cpu ms   calls   µs/call  statement'];
  for (const [sql, r] of rows.slice(0, SHOWN)) {
    lines.push(`${(r.cpuUs / 1000).toFixed(0).padStart(6)} ${String(r.calls).padStart(7)} ${(r.cpuUs / r.calls).toFixed(0).padStart(9)}  ${sql.slice(0, SQL_SHOWN_CHARS)}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
});
