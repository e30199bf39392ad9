import { RE2JS } from 're2js';
import { ValidationError } from '../domain/errors.js';

/**
 * Globs that a model, a user or a config file supplies, matched in time linear in the path (RE2 per
 * path segment, and a table over segments for `**`). Node's `path.matchesGlob` compiles globs to
 * backtracking RegExps: `*a*a*a…c` against a long name takes time that grows as a power of the
 * name's length, enough to stall the process. The syntax and meaning follow `matchesGlob` (minimatch
 * without `dot`): `*`, `?`, `[…]` (with `!` or `^`, ranges and POSIX classes), `**` as a whole
 * segment, `{a,b}` and `{1..3}`, the extglobs `@(…)`, `?(…)`, `+(…)`, `*(…)`; and `\` escapes the
 * next character (matchesGlob instead reads it as a path separator).
 * Wildcards do not match a name starting with `.` unless the glob's segment starts with a literal `.`.
 * `!(…)` is refused: it needs lookaround, which a linear-time engine does not have.
 */
export interface UntrustedGlob {
  readonly source: string;
  /** Whether the glob matches `path`, a relative path with `/` separators. */
  matches(path: string): boolean;
}

/** Longest glob accepted. */
export const GLOB_MAX_CHARS = 1_000;
/** Most alternatives brace expansion may produce (`{a,b}{c,d}` is four); each is matched separately. */
export const GLOB_MAX_EXPANSIONS = 256;

const GLOBSTAR = Symbol('globstar');
type Segment = typeof GLOBSTAR | { regex: RE2JS; dotAllowed: boolean };

export function compileUntrustedGlob(glob: string): UntrustedGlob {
  if (typeof glob !== 'string' || glob === '') throw new ValidationError('a glob must be a non-empty string');
  if (glob.length > GLOB_MAX_CHARS) throw new ValidationError(`a glob may not be longer than ${GLOB_MAX_CHARS} characters`, { details: { length: glob.length } });
  const alternatives = expandBraces(glob).map((expanded) => compileSegments(expanded, glob));
  return {
    source: glob,
    matches(path) {
      const names = path.split('/');
      return alternatives.some((segments) => matchSegments(segments, names));
    },
  };
}

/** `**` takes zero or more names (none starting with `.`), or one or more when it ends the glob. */
function matchSegments(segments: readonly Segment[], names: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const match = (s: number, n: number): boolean => {
    const key = s * (names.length + 1) + n;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    const segment = segments[s];
    if (segment === undefined) result = n === names.length;
    else if (segment === GLOBSTAR) {
      const canSkip = s < segments.length - 1 && match(s + 1, n);
      result = canSkip || (n < names.length && !names[n]!.startsWith('.') && (match(s, n + 1) || (s === segments.length - 1 && n === names.length - 1)));
    } else {
      const name = names[n];
      result = name !== undefined && (segment.dotAllowed || !name.startsWith('.')) && segment.regex.matches(name) && match(s + 1, n + 1);
    }
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

function compileSegments(pattern: string, glob: string): Segment[] {
  return splitOutside(pattern, '/').map((part): Segment => {
    if (part === '**') return GLOBSTAR;
    const source = segmentToRegex(part, glob);
    try {
      return { regex: RE2JS.compile(source, RE2JS.DOTALL), dotAllowed: part.startsWith('.') };
    } catch (error) {
      throw new ValidationError(`invalid glob ${JSON.stringify(glob)}: ${(error as Error).message}`, { cause: error, details: { glob } });
    }
  });
}

/** One segment of a glob as an RE2 pattern matching a whole name. */
function segmentToRegex(part: string, glob: string): string {
  let out = '';
  let index = 0;
  while (index < part.length) {
    const char = part[index]!;
    const next = part[index + 1];
    if ('@?+*!'.includes(char) && next === '(') {
      const close = closingParen(part, index + 1);
      if (close !== -1) {
        if (char === '!') throw new ValidationError(`unsupported glob ${JSON.stringify(glob)}: the negation !(…) is not supported; globs are matched in linear time, without lookaround`, { details: { glob } });
        const inner = splitOutside(part.slice(index + 2, close), '|').map((alternative) => segmentToRegex(alternative, glob));
        out += `(?:${inner.join('|')})${char === '@' ? '' : char}`;
        index = close + 1;
        continue;
      }
    }
    if (char === '\\' && next !== undefined) {
      out += RE2JS.quote(next);
      index += 2;
    } else if (char === '*') {
      out += '.*';
      index++;
    } else if (char === '?') {
      out += '.';
      index++;
    } else if (char === '[') {
      const parsed = bracket(part, index);
      out += parsed.text;
      index = parsed.end;
    } else {
      out += RE2JS.quote(char);
      index++;
    }
  }
  return out;
}

/** A `[…]` class; a `[` without its `]` is a literal. */
function bracket(part: string, start: number): { text: string; end: number } {
  let index = start + 1;
  let out = '[';
  if (part[index] === '!' || part[index] === '^') {
    out += '^';
    index++;
  }
  const first = index;
  while (index < part.length) {
    const char = part[index]!;
    if (char === ']' && index > first) return { text: `${out}]`, end: index + 1 };
    if (char === '[' && part[index + 1] === ':') {
      const close = part.indexOf(':]', index + 2);
      if (close !== -1 && /^[a-z]+$/.test(part.slice(index + 2, close))) {
        out += part.slice(index, close + 2);
        index = close + 2;
        continue;
      }
    }
    if (char === '\\' && index + 1 < part.length) {
      out += `\\x{${part.codePointAt(index + 1)!.toString(16)}}`;
      index += part.codePointAt(index + 1)! > 0xffff ? 3 : 2;
      continue;
    }
    out += '\\[]^'.includes(char) ? `\\${char}` : char;
    index++;
  }
  return { text: '\\[', end: start + 1 };
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let index = open; index < text.length; index++) {
    const char = text[index];
    if (char === '\\') index++;
    else if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return index;
  }
  return -1;
}

/** Splits on `separator` where it is not escaped and not inside parentheses or brackets. */
function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length) {
      current += char + text[index + 1];
      index++;
      continue;
    }
    if (char === '(') depth++;
    else if (char === ')' && depth > 0) depth--;
    if (char === separator && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** Brace expansion, as a shell does it: `a{b,c}d` is `abd` and `acd`; `{1..3}` counts. Bounded. */
function expandBraces(glob: string): string[] {
  const open = findBrace(glob);
  if (open === undefined) return [glob];
  const { start, end, options } = open;
  const results: string[] = [];
  for (const option of options) {
    for (const expanded of expandBraces(glob.slice(0, start) + option + glob.slice(end + 1))) {
      results.push(expanded);
      if (results.length > GLOB_MAX_EXPANSIONS) {
        throw new ValidationError(`the glob ${JSON.stringify(glob.length > 80 ? `${glob.slice(0, 80)}…` : glob)} expands to more than ${GLOB_MAX_EXPANSIONS} alternatives`, { details: { limit: GLOB_MAX_EXPANSIONS } });
      }
    }
  }
  return results;
}

/** The first `{…}` that expands (has a top-level comma, or is a range), with its options. */
function findBrace(glob: string): { start: number; end: number; options: string[] } | undefined {
  for (let start = 0; start < glob.length; start++) {
    if (glob[start] === '\\') {
      start++;
      continue;
    }
    if (glob[start] !== '{') continue;
    let depth = 0;
    for (let end = start; end < glob.length; end++) {
      const char = glob[end];
      if (char === '\\') end++;
      else if (char === '{') depth++;
      else if (char === '}' && --depth === 0) {
        const body = glob.slice(start + 1, end);
        const options = braceOptions(body);
        if (options !== undefined) return { start, end, options };
        break;
      }
    }
  }
  return undefined;
}

function braceOptions(body: string): string[] | undefined {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body) ?? /^([A-Za-z])\.\.([A-Za-z])$/.exec(body);
  if (range !== null) {
    const numeric = /\d/.test(range[1]!);
    const from = numeric ? Number(range[1]) : range[1]!.charCodeAt(0);
    const to = numeric ? Number(range[2]) : range[2]!.charCodeAt(0);
    if (Math.abs(to - from) >= GLOB_MAX_EXPANSIONS) {
      throw new ValidationError(`the range {${body}} has more than ${GLOB_MAX_EXPANSIONS} values`, { details: { limit: GLOB_MAX_EXPANSIONS } });
    }
    const step = to >= from ? 1 : -1;
    const values: string[] = [];
    for (let value = from; value !== to + step; value += step) values.push(numeric ? String(value) : String.fromCharCode(value));
    return values;
  }
  const options: string[] = [];
  let depth = 0;
  let current = '';
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (char === '\\' && index + 1 < body.length) {
      current += char + body[index + 1];
      index++;
      continue;
    }
    if (char === '{') depth++;
    else if (char === '}') depth--;
    if (char === ',' && depth === 0) {
      options.push(current);
      current = '';
    } else current += char;
  }
  options.push(current);
  return options.length > 1 ? options : undefined;
}
