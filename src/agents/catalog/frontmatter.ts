import { loadYaml } from '../../kernel/load-yaml.js';
import { ValidationError } from '../../domain/errors.js';

/** A Markdown file split into its parsed YAML frontmatter and the text after it. */
export interface Frontmatter {
  data: unknown;
  body: string;
}

const FENCE = /^---[ \t]*$/;

/**
 * Splits `---`-fenced frontmatter from a Markdown file and parses it as YAML.
 * Only a fence on the very first line counts (as in Claude Code): YAML later in the body is prose.
 */
export function readFrontmatter(text: string, path: string): Frontmatter {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0] === undefined || !FENCE.test(lines[0])) {
    throw new ValidationError(`${path}: no YAML frontmatter (the file must start with a "---" line)`, {
      details: { path },
    });
  }
  const close = lines.findIndex((line, index) => index > 0 && FENCE.test(line));
  if (close === -1) {
    throw new ValidationError(`${path}: the frontmatter is not closed by a "---" line`, { details: { path } });
  }
  const yaml = lines.slice(1, close).join('\n');
  const body = lines.slice(close + 1).join('\n');
  // The YAML starts on the file's second line; errors report the file's line, not the YAML's.
  return { data: parseFrontmatterYaml(yaml, path, 2), body };
}

function parseFrontmatterYaml(yaml: string, path: string, startLine: number): unknown {
  const { parse: parseYaml, YAMLParseError } = loadYaml();
  try {
    return parseYaml(yaml, { prettyErrors: false });
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    // Claude Code tolerates unquoted "key: text: more text" lines, and many published agent files
    // rely on it (descriptions with "Examples:" or "user:" in them). Retry with those values quoted;
    // anything still broken is reported with the original error, which points at the real mistake.
    const requoted = quoteColonValues(yaml);
    if (requoted !== yaml) {
      try {
        return parseYaml(requoted, { prettyErrors: false });
      } catch {
        // Fall through to report the first error.
      }
    }
    const line = startLine + countNewlines(yaml, error.pos[0]);
    throw new ValidationError(`${path}:${line}: invalid YAML in frontmatter: ${error.message}`, {
      cause: error,
      details: { path, line, yamlCode: error.code },
    });
  }
}

/** A top-level `key: value` line whose value is a plain scalar (not quoted, flow, block, anchor, tag). */
const PLAIN_TOP_LEVEL_VALUE = /^([A-Za-z_][\w-]*):[ \t]+([^\s"'[{|>&*!#%@`].*)$/;

function quoteColonValues(yaml: string): string {
  return yaml
    .split('\n')
    .map((line) => {
      const match = PLAIN_TOP_LEVEL_VALUE.exec(line);
      const key = match?.[1];
      const value = match?.[2]?.trimEnd();
      if (key === undefined || value === undefined || !value.includes(': ')) return line;
      // JSON strings are valid YAML double-quoted scalars, and escaping backslashes keeps a plain
      // scalar's literal text (plain scalars have no escape sequences).
      return `${key}: ${JSON.stringify(value)}`;
    })
    .join('\n');
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = 0; i < end && i < text.length; i++) if (text[i] === '\n') count++;
  return count;
}
