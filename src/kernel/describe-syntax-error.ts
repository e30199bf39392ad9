/**
 * One clean line for a YAML (or JSON) syntax error:
 * `plan.yaml: not valid YAML at line 3, column 5: <the problem> (in "<that line>")`.
 * The yaml package's own message ends in a multi-line code frame after "at line N, column M:";
 * the frame is dropped, its position kept, and the offending line quoted when it has text.
 */

/** Longest excerpt of the offending line that is quoted. */
const MAX_EXCERPT_CHARS = 80;

interface Position {
  line: number;
  column: number;
}

export function describeSyntaxError(error: unknown, source: string, text: string, format: 'YAML' | 'JSON' = 'YAML'): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = positionOf(error, message);
  const problem = (message.split('\n')[0] ?? '')
    .replace(/ at line \d+, column \d+:?\s*$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '')
    .trim();
  if (!position) return `${source}: not valid ${format}: ${problem}`;
  const lineText = text.split(/\r?\n/)[position.line - 1]?.trim() ?? '';
  const excerpt = lineText === '' ? '' : ` (in ${JSON.stringify(truncate(lineText))})`;
  return `${source}: not valid ${format} at line ${position.line}, column ${position.column}: ${problem}${excerpt}`;
}

function positionOf(error: unknown, message: string): Position | undefined {
  // yaml's YAMLParseError carries linePos: [start, end], 1-based.
  const linePos = (error as { linePos?: { line: number; col: number }[] } | null)?.linePos?.[0];
  if (linePos) return { line: linePos.line, column: linePos.col };
  // Node's JSON.parse: "... in JSON at position 12 (line 2 column 3)".
  const json = /\(line (\d+) column (\d+)\)$/.exec(message.split('\n')[0] ?? '');
  return json ? { line: Number(json[1]), column: Number(json[2]) } : undefined;
}

function truncate(line: string): string {
  return line.length <= MAX_EXCERPT_CHARS ? line : `${line.slice(0, MAX_EXCERPT_CHARS - 1)}…`;
}
