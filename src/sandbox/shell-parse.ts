import { ValidationError } from '../domain/errors.js';

/**
 * A small POSIX-shell reader for the command policy: it splits a command line into pipelines of
 * simple commands (on `;`, `&`, `&&`, `||`, `|`, newlines and parentheses), removes quoting from
 * words, and collects the text of command substitutions (`$(...)`, backticks, `<(...)`) so they can
 * be checked too. It does not expand anything: a word that depends on expansion is marked `dynamic`.
 * It is deliberately forgiving; where shell grammar is murkier than this (case patterns, arithmetic),
 * it errs towards seeing more commands, not fewer.
 */

export interface ShellWord {
  /** The word as written. */
  raw: string;
  /** The word with quotes and backslashes removed; `$NAME` and `$(...)` are kept as written. */
  text: string;
  /** True when the word's value depends on an expansion the reader does not perform. */
  dynamic: boolean;
}

export interface ShellRedirect {
  op: string;
  target: ShellWord | undefined;
}

export interface SimpleCommand {
  words: ShellWord[];
  redirects: ShellRedirect[];
  /** Source text of each command substitution in this command's words or redirections. */
  substitutions: string[];
}

/** Commands joined by `|`: the output of one is the input of the next. */
export type Pipeline = SimpleCommand[];

type Token =
  | { kind: 'word'; word: ShellWord; substitutions: string[] }
  | { kind: 'op'; op: string }
  | { kind: 'substitution'; source: string };

/** Longest first, so that `&&` is not read as two `&`. */
const OPERATORS = ['&>>', '<<<', '<<-', ';;&', '&&', '||', ';;', ';&', '|&', '&>', '>>', '>&', '>|', '<<', '<&', '<>', '&', '|', ';', '(', ')', '<', '>'];
const OPERATOR_CHARS = new Set(['&', '|', ';', '(', ')', '<', '>']);
const BLANKS = new Set([' ', '\t', '\r']);
const REDIRECT_OPERATORS: ReadonlySet<string> = new Set(['&>>', '<<<', '<<-', '&>', '>>', '>&', '>|', '<<', '<&', '<>', '<', '>']);
const CASE_SEPARATORS = new Set([';;', ';&', ';;&']);

/** Splits `source` into pipelines. Throws ValidationError for unterminated quotes or substitutions. */
export function parseShell(source: string): Pipeline[] {
  const pipelines: Pipeline[] = [];
  let pipeline: SimpleCommand[] = [];
  let command = emptyCommand();
  let caseDepth = 0;
  let inCasePattern = false;
  const endCommand = (): void => {
    if (command.words.length + command.redirects.length + command.substitutions.length > 0) pipeline.push(command);
    command = emptyCommand();
  };
  const endPipeline = (): void => {
    endCommand();
    if (pipeline.length > 0) pipelines.push(pipeline);
    pipeline = [];
  };

  const tokens = tokenize(source);
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.kind === 'substitution') {
      pipelines.push([{ words: [], redirects: [], substitutions: [token.source] }]);
      continue;
    }
    if (token.kind === 'word') {
      if (command.words.length === 0 && token.word.raw === 'case') caseDepth++;
      if (token.word.raw === 'esac' && caseDepth > 0) {
        caseDepth--;
        inCasePattern = false;
      }
      // A case pattern (`a|b)` after `;;`) names no program: drop it up to its `)`.
      if (inCasePattern) continue;
      command.words.push(token.word);
      command.substitutions.push(...token.substitutions);
      continue;
    }
    const { op } = token;
    if (inCasePattern) {
      if (op === ')') inCasePattern = false;
      continue;
    }
    if (REDIRECT_OPERATORS.has(op)) {
      const next = tokens[index + 1];
      if (next?.kind === 'word') {
        command.redirects.push({ op, target: next.word });
        command.substitutions.push(...next.substitutions);
        index++;
      } else {
        command.redirects.push({ op, target: undefined });
      }
    } else if (op === '(' && isOp(tokens[index + 1], ')') && command.words.length === 1) {
      // `name() { ...; }` defines a function: `name` is not run here.
      command = emptyCommand();
      index++;
    } else if (op === '|' || op === '|&' || op === '(' || op === ')') {
      endCommand();
    } else {
      endPipeline();
      if (CASE_SEPARATORS.has(op) && caseDepth > 0) inCasePattern = true;
    }
  }
  endPipeline();
  return pipelines;
}

function isOp(token: Token | undefined, op: string): boolean {
  return token?.kind === 'op' && token.op === op;
}

function emptyCommand(): SimpleCommand {
  return { words: [], redirects: [], substitutions: [] };
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const heredocs: Array<{ delimiter: string; stripTabs: boolean; expands: boolean }> = [];
  let heredocOp: string | undefined;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (BLANKS.has(c)) {
      i++;
    } else if (c === '\\' && source[i + 1] === '\n') {
      i += 2;
    } else if (c === '\n') {
      tokens.push({ kind: 'op', op: '\n' });
      i = readHeredocBodies(source, i + 1, heredocs.splice(0), tokens);
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if ((c === '<' || c === '>') && source[i + 1] === '(') {
      const { inner, end } = readBalanced(source, i + 2, '(', ')');
      const raw = source.slice(i, end);
      tokens.push({ kind: 'word', word: { raw, text: raw, dynamic: true }, substitutions: [inner] });
      i = end;
    } else if (OPERATOR_CHARS.has(c)) {
      const op = OPERATORS.find((candidate) => source.startsWith(candidate, i))!;
      tokens.push({ kind: 'op', op });
      if (op === '<<' || op === '<<-') heredocOp = op;
      i += op.length;
    } else {
      const { word, substitutions, end } = readWord(source, i);
      i = end;
      // Digits glued to a redirection (`2>file`) are a file descriptor, not an argument.
      if (/^\d+$/.test(word.raw) && (source[end] === '<' || source[end] === '>')) continue;
      if (heredocOp !== undefined) {
        heredocs.push({ delimiter: word.text, stripTabs: heredocOp === '<<-', expands: word.raw === word.text });
        heredocOp = undefined;
      }
      tokens.push({ kind: 'word', word, substitutions });
    }
  }
  return tokens;
}

/** Skips here-document bodies; an unquoted delimiter means the body's `$(...)` runs, so those are kept. */
function readHeredocBodies(
  source: string,
  start: number,
  heredocs: Array<{ delimiter: string; stripTabs: boolean; expands: boolean }>,
  tokens: Token[],
): number {
  let position = start;
  for (const heredoc of heredocs) {
    const body: string[] = [];
    while (position < source.length) {
      const newline = source.indexOf('\n', position);
      const end = newline === -1 ? source.length : newline;
      const line = source.slice(position, end);
      position = end + 1;
      if ((heredoc.stripTabs ? line.replace(/^\t+/, '') : line) === heredoc.delimiter) break;
      body.push(line);
    }
    if (heredoc.expands) {
      for (const substitution of substitutionsIn(body.join('\n'))) tokens.push({ kind: 'substitution', source: substitution });
    }
  }
  return Math.min(position, source.length);
}

function substitutionsIn(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '$' || text[i] === '`') {
      const expansion = readDollarOrBacktick(text, i);
      found.push(...expansion.substitutions);
      i = expansion.end - 1;
    }
  }
  return found;
}

function readWord(source: string, start: number): { word: ShellWord; substitutions: string[]; end: number } {
  let text = '';
  let dynamic = false;
  const substitutions: string[] = [];
  let i = start;
  while (i < source.length) {
    const c = source[i]!;
    if (BLANKS.has(c) || c === '\n' || OPERATOR_CHARS.has(c)) break;
    if (c === '\\') {
      if (source[i + 1] !== '\n') text += source[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      const close = source.indexOf("'", i + 1);
      if (close === -1) throw unterminated("'", start);
      text += source.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      const quoted = readDoubleQuoted(source, i);
      text += quoted.text;
      dynamic ||= quoted.dynamic;
      substitutions.push(...quoted.substitutions);
      i = quoted.end;
    } else if (c === '$' || c === '`') {
      const expansion = readDollarOrBacktick(source, i);
      text += expansion.text;
      dynamic ||= expansion.dynamic;
      substitutions.push(...expansion.substitutions);
      i = expansion.end;
    } else {
      text += c;
      i++;
    }
  }
  return { word: { raw: source.slice(start, i), text, dynamic }, substitutions, end: i };
}

function readDoubleQuoted(source: string, start: number): { text: string; dynamic: boolean; substitutions: string[]; end: number } {
  let text = '';
  let dynamic = false;
  const substitutions: string[] = [];
  let i = start + 1;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '"') return { text, dynamic, substitutions, end: i + 1 };
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      // Inside double quotes a backslash only escapes these; a backslash-newline disappears.
      if (next !== '\n') text += '$`"\\'.includes(next) ? next : c + next;
      i += 2;
    } else if (c === '$' || c === '`') {
      const expansion = readDollarOrBacktick(source, i);
      text += expansion.text;
      dynamic ||= expansion.dynamic;
      substitutions.push(...expansion.substitutions);
      i = expansion.end;
    } else {
      text += c;
      i++;
    }
  }
  throw unterminated('"', start);
}

/** Reads one `$...` or backtick expansion starting at `start`. */
function readDollarOrBacktick(source: string, start: number): { text: string; dynamic: boolean; substitutions: string[]; end: number } {
  const next = source[start + 1];
  if (source[start] === '`') {
    let i = start + 1;
    while (i < source.length && source[i] !== '`') i += source[i] === '\\' ? 2 : 1;
    if (i >= source.length) throw unterminated('`', start);
    const inner = source.slice(start + 1, i).replace(/\\([`\\$])/g, '$1');
    return { text: source.slice(start, i + 1), dynamic: true, substitutions: [inner], end: i + 1 };
  }
  if (next === '(') {
    const arithmetic = source[start + 2] === '(';
    const { inner, end } = readBalanced(source, start + 2, '(', ')');
    return { text: source.slice(start, end), dynamic: true, substitutions: arithmetic ? [] : [inner], end };
  }
  if (next === '{') {
    const { end } = readBalanced(source, start + 2, '{', '}');
    return { text: source.slice(start, end), dynamic: true, substitutions: [], end };
  }
  if (next === "'") {
    // ANSI-C quoting: its escapes are not decoded here, so a word using them is treated as unknown.
    let i = start + 2;
    while (i < source.length && source[i] !== "'") i += source[i] === '\\' ? 2 : 1;
    if (i >= source.length) throw unterminated("$'", start);
    const body = source.slice(start + 2, i);
    return { text: body, dynamic: body.includes('\\'), substitutions: [], end: i + 1 };
  }
  if (next === '"') {
    const quoted = readDoubleQuoted(source, start + 1);
    return { ...quoted };
  }
  if (next !== undefined && /[\w@*#?$!-]/.test(next)) return { text: '$', dynamic: true, substitutions: [], end: start + 1 };
  return { text: '$', dynamic: false, substitutions: [], end: start + 1 };
}

/** Reads up to the `close` that balances an `open` already consumed, skipping quoted text. */
function readBalanced(source: string, start: number, open: string, close: string): { inner: string; end: number } {
  let depth = 1;
  let i = start;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === "'") {
      const quoteEnd = source.indexOf("'", i + 1);
      if (quoteEnd === -1) break;
      i = quoteEnd + 1;
      continue;
    }
    if (c === '"') {
      i = readDoubleQuoted(source, i).end;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return { inner: source.slice(start, i), end: i + 1 };
    i++;
  }
  throw unterminated(open === '(' ? '$(' : '${', start);
}

function unterminated(what: string, at: number): ValidationError {
  return new ValidationError(`unterminated ${what} in command (from character ${at})`, { details: { at } });
}
