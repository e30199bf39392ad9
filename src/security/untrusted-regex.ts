import { RE2JS, RE2JSException } from 're2js';
import { ValidationError } from '../domain/errors.js';

/**
 * Regular expressions that a model, a user, a config file or a request supplies. They are matched by
 * RE2 (re2js), whose time is linear in the input whatever the pattern, so no pattern can stall the
 * process the way `(a+)+$` stalls JavaScript's backtracking RegExp. The price is RE2's syntax: no
 * backreferences and no lookaround. JavaScript spellings RE2 lacks are translated (`\uXXXX`, `\u{…}`,
 * `\cX`, `[^]`, `[]`, `\p{Script=…}`); what cannot be translated is refused with a ValidationError
 * that names the construct.
 */
export interface UntrustedRegex {
  /** The pattern as given. */
  readonly source: string;
  /** Whether the pattern matches anywhere in `text` (like RegExp.prototype.test, without state). */
  test(text: string): boolean;
}

const ENGINE_NOTE = 'patterns run on a linear-time engine (RE2), which has no lookaround or backreferences';

/** JavaScript flags and their RE2 counterparts; the rest of JavaScript's flags mean nothing for a test. */
const FLAG_BITS: Readonly<Record<string, number>> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL };
const IGNORED_FLAGS = new Set(['g', 'y', 'd', 'u', 'v']);

/** Compiles `pattern` with JavaScript-style `flags` (i, m, s; g, y, d, u and v are accepted and ignored). */
export function compileUntrustedRegex(pattern: string, flags = ''): UntrustedRegex {
  if (typeof pattern !== 'string') throw new ValidationError('a regular expression must be a string');
  const re2 = compileRe2(translate(pattern), parseFlags(flags), pattern);
  return {
    source: pattern,
    test: (text) => re2.test(text),
  };
}

function parseFlags(flags: string): number {
  let bits = 0;
  const seen = new Set<string>();
  for (const flag of flags) {
    if (seen.has(flag)) throw new ValidationError(`regular expression flag "${flag}" is given twice`, { details: { flags } });
    seen.add(flag);
    const bit = FLAG_BITS[flag];
    if (bit !== undefined) bits |= bit;
    else if (!IGNORED_FLAGS.has(flag)) throw new ValidationError(`unknown regular expression flag "${flag}" (supported: i, m, s)`, { details: { flags } });
  }
  return bits;
}

function compileRe2(translated: string, flags: number, pattern: string): RE2JS {
  try {
    return RE2JS.compile(translated, flags);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    const reason = error.message.replace(/^error parsing regexp: /, '');
    throw new ValidationError(`invalid regular expression ${JSON.stringify(pattern)}: ${reason}`, { cause: error, details: { pattern } });
  }
}

/** Rewrites JavaScript-only syntax into RE2's, refusing what RE2 cannot do. */
function translate(pattern: string): string {
  let out = '';
  let inClass = false;
  let index = 0;
  while (index < pattern.length) {
    const char = pattern[index]!;
    if (char === '\\') {
      const escape = translateEscape(pattern, index, inClass);
      out += escape.text;
      index = escape.end;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      out += char;
      index++;
      continue;
    }
    if (char === '[') {
      // JavaScript's `[]` matches nothing and `[^]` any character; in RE2 a `]` right after `[` is literal.
      if (pattern.startsWith('[]', index)) {
        out += '[^\\x00-\\x{10FFFF}]';
        index += 2;
        continue;
      }
      if (pattern.startsWith('[^]', index)) {
        out += '[\\x00-\\x{10FFFF}]';
        index += 3;
        continue;
      }
      inClass = true;
      out += char;
      index++;
      if (pattern[index] === '^') {
        out += '^';
        index++;
      }
      continue;
    }
    if (char === '(') refuseLookaround(pattern, index);
    out += char;
    index++;
  }
  return out;
}

function refuseLookaround(pattern: string, index: number): void {
  const opener = ['(?=', '(?!', '(?<=', '(?<!'].find((candidate) => pattern.startsWith(candidate, index));
  if (opener === undefined) return;
  const kind = opener.startsWith('(?<') ? 'lookbehind' : 'lookahead';
  throw unsupported(pattern, `${kind} ${opener}…) is not supported`);
}

function translateEscape(pattern: string, index: number, inClass: boolean): { text: string; end: number } {
  const next = pattern[index + 1];
  if (next === undefined) throw new ValidationError(`invalid regular expression ${JSON.stringify(pattern)}: it ends with a lone backslash`, { details: { pattern } });
  if (next === 'u') return unicodeEscape(pattern, index);
  if (next === 'c' && /[A-Za-z]/.test(pattern[index + 2] ?? '')) {
    return { text: codePoint(pattern[index + 2]!.toUpperCase().charCodeAt(0) % 32), end: index + 3 };
  }
  if (!inClass && /[1-9]/.test(next)) throw unsupported(pattern, `the backreference \\${next} is not supported`);
  if (!inClass && next === 'k' && pattern[index + 2] === '<') throw unsupported(pattern, 'the named backreference \\k<…> is not supported');
  if (next === 'p' || next === 'P') {
    const property = /^\{(?:Script|sc|Script_Extensions|scx|General_Category|gc)=([A-Za-z_]+)\}/.exec(pattern.slice(index + 2));
    if (property !== null) return { text: `\\${next}{${property[1]}}`, end: index + 2 + property[0].length };
  }
  return { text: `\\${next}`, end: index + 2 };
}

/** `\uXXXX` (a surrogate pair of them makes one character) and `\u{X…}` become RE2's `\x{…}`. */
function unicodeEscape(pattern: string, index: number): { text: string; end: number } {
  const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(pattern.slice(index + 2));
  if (braced !== null) return { text: `\\x{${braced[1]}}`, end: index + 2 + braced[0].length };
  const four = /^[0-9A-Fa-f]{4}/.exec(pattern.slice(index + 2));
  if (four === null) throw new ValidationError(`invalid regular expression ${JSON.stringify(pattern)}: \\u must be followed by four hex digits or {hex}`, { details: { pattern } });
  const high = Number.parseInt(four[0], 16);
  const low = /^\\u([Dd][C-Fc-f][0-9A-Fa-f]{2})/.exec(pattern.slice(index + 6));
  if (high >= 0xd800 && high <= 0xdbff && low !== null) {
    return { text: codePoint(0x10000 + ((high - 0xd800) << 10) + (Number.parseInt(low[1]!, 16) - 0xdc00)), end: index + 12 };
  }
  return { text: codePoint(high), end: index + 6 };
}

function codePoint(value: number): string {
  return `\\x{${value.toString(16)}}`;
}

function unsupported(pattern: string, what: string): ValidationError {
  return new ValidationError(`unsupported regular expression ${JSON.stringify(pattern)}: ${what}; ${ENGINE_NOTE}`, { details: { pattern } });
}
