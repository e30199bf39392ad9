import { stdout } from 'node:process';

/** Colour only for people: not when piped, not under NO_COLOR. */
const useColor = stdout.isTTY === true && !process.env.NO_COLOR;
const wrap = (open: number, close: number) => (s: string) => (useColor ? `\u001b[${open}m${s}\u001b[${close}m` : s);
export const color = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  blue: wrap(34, 39),
  cyan: wrap(36, 39),
};

export function printJson(value: unknown): void {
  stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = ''): void {
  stdout.write(`${line}\n`);
}

/** A plain aligned table; cells are strings already formatted. */
export function printTable(headers: string[], rows: string[][]): void {
  if (rows.length === 0) {
    println(color.dim('(none)'));
    return;
  }
  const widths = headers.map((h, i) => Math.max(visible(h).length, ...rows.map((r) => visible(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] as number) - visible(c).length)))
      .join('  ')
      .trimEnd();
  println(color.bold(line(headers)));
  for (const row of rows) println(line(row));
}

function visible(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A size for people: `812 B`, `4.0 KiB`, `31 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  for (value /= 1024; value >= 1024 && unit < BYTE_UNITS.length - 1; unit++) value /= 1024;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${BYTE_UNITS[unit]}`;
}

export function isoTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

export function statusColor(status: string): string {
  switch (status) {
    case 'completed':
    case 'idle':
    case 'healthy':
      return color.green(status);
    case 'failed':
    case 'error':
    case 'unhealthy':
      return color.red(status);
    case 'running':
    case 'busy':
      return color.cyan(status);
    case 'cancelled':
    case 'terminated':
    case 'degraded':
      return color.yellow(status);
    default:
      return status;
  }
}

export function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
