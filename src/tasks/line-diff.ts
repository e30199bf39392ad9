/**
 * A unified line diff (longest common subsequence of lines), for showing what a task changed in a
 * file. Common leading and trailing lines are set aside first; what is left is compared by a table
 * of LINE_DIFF_MAX_CELLS cells at most, so a huge change is reported as too large instead of
 * taking the process's memory.
 */

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

export interface DiffHunk {
  /** `@@ -start,count +start,count @@`, 1-based as in `diff -u`. */
  header: string;
  lines: DiffLine[];
}

export type LineDiff = { hunks: DiffHunk[]; added: number; removed: number; tooLarge?: undefined } | { tooLarge: true; reason: string };

export const LINE_DIFF_MAX_CELLS = 4_000_000;
export const DIFF_CONTEXT_LINES = 3;

export function lineDiff(before: string, after: string, context = DIFF_CONTEXT_LINES): LineDiff {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  if ((n + 1) * (m + 1) > LINE_DIFF_MAX_CELLS) {
    return { tooLarge: true, reason: `${n} lines against ${m} changed lines is over the diff's limit of ${LINE_DIFF_MAX_CELLS} compared pairs` };
  }
  // lcs[i * (m + 1) + j]: the longest common subsequence of a[start+i..endA) and b[start+j..endB).
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[start + i] === b[start + j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const lines: DiffLine[] = a.slice(0, start).map((text) => ({ op: ' ', text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      lines.push({ op: ' ', text: a[start + i]! });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1]! >= lcs[(i + 1) * (m + 1) + j]!)) {
      lines.push({ op: '+', text: b[start + j]! });
      j++;
    } else {
      lines.push({ op: '-', text: a[start + i]! });
      i++;
    }
  }
  lines.push(...a.slice(endA).map((text): DiffLine => ({ op: ' ', text })));
  // Within a changed run, removals before additions, as `diff -u` prints them.
  return { hunks: hunksOf(orderRuns(lines), context), added: lines.filter((l) => l.op === '+').length, removed: lines.filter((l) => l.op === '-').length };
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function orderRuns(lines: DiffLine[]): DiffLine[] {
  const out: DiffLine[] = [];
  let run: DiffLine[] = [];
  const flush = (): void => {
    out.push(...run.filter((l) => l.op === '-'), ...run.filter((l) => l.op === '+'));
    run = [];
  };
  for (const line of lines) {
    if (line.op === ' ') {
      flush();
      out.push(line);
    } else run.push(line);
  }
  flush();
  return out;
}

function hunksOf(lines: DiffLine[], context: number): DiffHunk[] {
  const changed = lines.flatMap((l, index) => (l.op === ' ' ? [] : [index]));
  const hunks: DiffHunk[] = [];
  let k = 0;
  while (k < changed.length) {
    const from = Math.max(0, changed[k]! - context);
    let to = changed[k]! + context;
    while (k + 1 < changed.length && changed[k + 1]! - context <= to + 1) to = changed[++k]! + context;
    k++;
    to = Math.min(lines.length - 1, to);
    // Line numbers at `from`: count the lines of each side before it.
    const before = lines.slice(0, from);
    const oldStart = before.filter((l) => l.op !== '+').length;
    const newStart = before.filter((l) => l.op !== '-').length;
    const body = lines.slice(from, to + 1);
    const oldCount = body.filter((l) => l.op !== '+').length;
    const newCount = body.filter((l) => l.op !== '-').length;
    hunks.push({ header: `@@ -${oldCount === 0 ? oldStart : oldStart + 1},${oldCount} +${newCount === 0 ? newStart : newStart + 1},${newCount} @@`, lines: body });
  }
  return hunks;
}
