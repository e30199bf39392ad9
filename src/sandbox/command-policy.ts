import { posix } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { compileUntrustedGlob } from '../security/untrusted-glob.js';
import {
  DOWNLOADERS,
  forkBombRule,
  invocationRule,
  isInterpreter,
  pipelineRule,
  redirectRule,
  SHELLS,
  type Invocation,
} from './builtin-command-rules.js';
import { POLICY_MAX_NESTING } from './sandbox-defaults.js';
import { parseShell, type Pipeline, type ShellWord } from './shell-parse.js';

/**
 * The command policy of the agent shell tool.
 *
 * THIS IS A GUARD-RAIL, NOT A SECURITY BOUNDARY. It catches an agent's mistakes and the obvious
 * dangerous commands before they run; it cannot stop a determined adversary, because the command
 * still runs as the user with the user's rights, and a shell has endless ways to hide what it runs
 * (variables, scripts written to disk and then executed, interpreters, aliases). Isolation from the
 * host needs an OS mechanism: a container, a VM, a separate user.
 *
 * Every program the command would run is checked: each simple command of every pipeline and list
 * (split on `;`, `&&`, `||`, `|`, `&`, newlines), with leading `NAME=value` assignments skipped, and
 * looking through wrappers (`env`, `nohup`, `timeout`, `xargs`, `nice`, `find -exec`, …), `sh -c`,
 * `eval` and command substitutions. A program is refused when a built-in rule refuses it (see
 * builtin-command-rules.ts), when it matches a `deny` pattern, or, when `allow` is given, when it
 * matches no `allow` pattern (so `allow: []` allows nothing). Wrappers count as programs for the
 * lists too (`nohup` must be allowed to run `nohup git …`), except the shell's own `command`,
 * `builtin`, `exec` and `time`. Patterns are globs (`*`, `?`, `[...]`): one without `/` is matched
 * against the program's base name (`rm` also matches `/bin/rm`), one with `/` against the program
 * as written.
 */
export interface CommandPolicy {
  allow?: string[];
  deny?: string[];
}

export type CommandCheck = { allowed: true } | { allowed: false; reason: string };

interface Wrapper {
  /** Options that take the next word as their value. */
  valueOptions: ReadonlySet<string>;
  /** Options whose value is itself a command line (`env -S '...'`). */
  scriptOptions?: ReadonlySet<string>;
  /** Operands before the wrapped command (`timeout 5 cmd`). */
  positionals?: number;
  /** Accepts `NAME=value` words before the command (`env`). */
  assignments?: boolean;
  /** The rest of the words form a command line run by a shell (`watch 'a | b'`). */
  joinsScript?: boolean;
  /** Shell builtins that only change how the next command runs: not a program for the lists. */
  transparent?: boolean;
}

const none: ReadonlySet<string> = new Set();
const WRAPPERS: ReadonlyMap<string, Wrapper> = new Map<string, Wrapper>([
  ['command', { valueOptions: none, transparent: true }],
  ['builtin', { valueOptions: none, transparent: true }],
  ['exec', { valueOptions: new Set(['-a']), transparent: true }],
  ['time', { valueOptions: new Set(['-f', '--format', '-o', '--output']), transparent: true }],
  ['env', { valueOptions: new Set(['-u', '--unset', '-C', '--chdir', '-S', '--split-string']), scriptOptions: new Set(['-S', '--split-string']), assignments: true }],
  ['nohup', { valueOptions: none }],
  ['setsid', { valueOptions: none }],
  ['busybox', { valueOptions: none }],
  ['nice', { valueOptions: new Set(['-n', '--adjustment']) }],
  ['ionice', { valueOptions: new Set(['-c', '-n', '--class', '--classdata']) }],
  ['stdbuf', { valueOptions: new Set(['-i', '-o', '-e', '--input', '--output', '--error']) }],
  ['timeout', { valueOptions: new Set(['-s', '--signal', '-k', '--kill-after']), positionals: 1 }],
  ['chroot', { valueOptions: new Set(['--userspec', '--groups']), positionals: 1 }],
  ['flock', { valueOptions: new Set(['-w', '--timeout', '-E', '--conflict-exit-code']), positionals: 1 }],
  ['xargs', { valueOptions: new Set(['-I', '-n', '-P', '-d', '-E', '-L', '-s', '-a', '--max-args', '--max-procs', '--delimiter', '--arg-file', '--max-lines', '--max-chars', '--replace']) }],
  ['watch', { valueOptions: new Set(['-n', '--interval']), joinsScript: true }],
  ['eval', { valueOptions: none, joinsScript: true }],
]);

/** Shell keywords that may start a command; the program, if any, follows them. */
const KEYWORDS = new Set(['!', '{', '}', 'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'esac']);
/** Commands starting with these run no program of their own (their substitutions are still checked). */
const NO_PROGRAM = new Set(['for', 'select', 'case', '[[', 'function']);
/** Shell options that take a value, so the value is not mistaken for the `-c` script. */
const SHELL_VALUE_OPTIONS = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);
const FIND_EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/;

/** Decides whether the agent shell tool may run `command` under `policy`. */
export function checkCommand(command: string, policy: CommandPolicy = {}): CommandCheck {
  validatePolicy(policy);
  if (typeof command !== 'string') throw new ValidationError('command must be a string');
  if (command.trim() === '') return { allowed: false, reason: 'the command is empty' };
  if (command.includes('\0')) return { allowed: false, reason: 'the command contains a NUL byte' };
  const reason = checkSource(command, policy, 0);
  return reason === undefined ? { allowed: true } : { allowed: false, reason };
}

function checkSource(source: string, policy: CommandPolicy, depth: number): string | undefined {
  if (depth > POLICY_MAX_NESTING) return `commands are nested more than ${POLICY_MAX_NESTING} deep (sh -c, eval, $(...)), too deep to check`;
  const bomb = forkBombRule(source);
  if (bomb !== undefined) return builtin(bomb);
  let pipelines: Pipeline[];
  try {
    pipelines = parseShell(source);
  } catch (error) {
    return `the command cannot be checked: ${(error as Error).message}`;
  }
  for (const pipeline of pipelines) {
    const stages: Invocation[][] = [];
    for (const command of pipeline) {
      const { invocations, scripts } = expand(command.words);
      stages.push(invocations);
      for (const redirect of command.redirects) {
        const reason = redirectRule(redirect);
        if (reason !== undefined) return builtin(reason);
      }
      for (const invocation of invocations) {
        const reason = checkInvocation(invocation, policy);
        if (reason !== undefined) return reason;
      }
      for (const script of [...scripts, ...command.substitutions]) {
        const reason = checkSource(script, policy, depth + 1);
        if (reason !== undefined) return reason;
      }
      // `bash -c "$(curl …)"`, `python3 <(wget -O- …)`: a download handed to an interpreter.
      const interpreter = invocations.find((invocation) => isInterpreter(invocation.name) || invocation.name === 'source' || invocation.name === '.');
      const download = command.substitutions.map(downloaderIn).find((name) => name !== undefined);
      if (interpreter !== undefined && download !== undefined) {
        return builtin(`handing a download (${download}) to an interpreter (${interpreter.name}) runs code nobody reviewed`);
      }
    }
    const reason = pipelineRule(stages);
    if (reason !== undefined) return builtin(reason);
  }
  return undefined;
}

function checkInvocation(invocation: Invocation, policy: CommandPolicy): string | undefined {
  const shown = JSON.stringify(invocation.program.text);
  const rule = invocationRule(invocation);
  if (rule !== undefined) return builtin(`${shown}: ${rule}`);
  const denied = policy.deny?.find((pattern) => matches(pattern, invocation));
  if (denied !== undefined) return `${shown} matches the deny pattern ${JSON.stringify(denied)}`;
  if (policy.allow === undefined) return undefined;
  if (invocation.program.dynamic) {
    return `the program ${invocation.program.raw} is only known when the command runs, so it cannot be checked against the allow list`;
  }
  if (!policy.allow.some((pattern) => matches(pattern, invocation))) {
    return `${shown} is not in the allow list (${policy.allow.join(', ') || 'empty'})`;
  }
  return undefined;
}

function builtin(reason: string): string {
  return `refused by the built-in policy: ${reason}`;
}

/** Globs from configuration, matched against names from the model: in linear time (untrusted-glob.ts). */
function matches(pattern: string, invocation: Invocation): boolean {
  return compileUntrustedGlob(pattern).matches(pattern.includes('/') ? invocation.program.text : invocation.name);
}

/** The programs one simple command runs, and command lines it hands to a shell (`sh -c`, `eval`). */
function expand(words: ShellWord[]): { invocations: Invocation[]; scripts: string[] } {
  const invocations: Invocation[] = [];
  const scripts: string[] = [];
  let rest = skipLeading(words);
  while (rest.length > 0) {
    const [program, ...args] = rest as [ShellWord, ...ShellWord[]];
    const name = posix.basename(program.text);
    const wrapper = WRAPPERS.get(name);
    if (wrapper?.transparent !== true) invocations.push({ program, name, args });
    if (name === 'find') {
      for (const group of findExecGroups(args)) {
        const nested = expand(group);
        invocations.push(...nested.invocations);
        scripts.push(...nested.scripts);
      }
      break;
    }
    if (SHELLS.has(name)) {
      const script = shellScript(args);
      if (script !== undefined) scripts.push(script);
      break;
    }
    if (wrapper === undefined) break;
    const unwrapped = unwrap(wrapper, args);
    scripts.push(...unwrapped.scripts);
    rest = skipLeading(unwrapped.rest);
  }
  return { invocations, scripts };
}

function skipLeading(words: ShellWord[]): ShellWord[] {
  let index = 0;
  while (index < words.length) {
    const word = words[index]!;
    const unquoted = word.raw === word.text;
    if (unquoted && index === 0 && NO_PROGRAM.has(word.raw)) return [];
    if (ASSIGNMENT.test(word.raw) || (unquoted && KEYWORDS.has(word.raw))) index++;
    else break;
  }
  return words.slice(index);
}

function unwrap(wrapper: Wrapper, args: ShellWord[]): { rest: ShellWord[]; scripts: string[] } {
  const scripts: string[] = [];
  let index = 0;
  while (index < args.length) {
    const arg = args[index]!;
    if (arg.text === '--') {
      index++;
      break;
    }
    if (wrapper.assignments === true && ASSIGNMENT.test(arg.raw)) {
      index++;
    } else if (wrapper.valueOptions.has(arg.text)) {
      const value = args[index + 1];
      if (value !== undefined && wrapper.scriptOptions?.has(arg.text) === true) scripts.push(value.text);
      index += 2;
    } else if (arg.text.startsWith('-') && arg.text !== '-') {
      index++;
    } else {
      break;
    }
  }
  const rest = args.slice(index + (wrapper.positionals ?? 0));
  if (wrapper.joinsScript === true) return { rest: [], scripts: [...scripts, rest.map((word) => word.text).join(' ')] };
  return { rest, scripts };
}

/** The command line of `sh -c '…'` (the first operand once a `-c` was seen), if any. */
function shellScript(args: ShellWord[]): string | undefined {
  let sawC = false;
  for (let index = 0; index < args.length; index++) {
    const text = args[index]!.text;
    if (SHELL_VALUE_OPTIONS.has(text)) index++;
    else if (/^-[A-Za-z]+$/.test(text)) sawC ||= text.includes('c');
    else if (text.startsWith('-') || text.startsWith('+')) continue;
    else return sawC ? text : undefined;
  }
  return undefined;
}

/** `find … -exec cmd args {} ;` runs `cmd` for each file. */
function findExecGroups(args: ShellWord[]): ShellWord[][] {
  const groups: ShellWord[][] = [];
  for (let index = 0; index < args.length; index++) {
    if (!FIND_EXEC.has(args[index]!.text)) continue;
    const end = args.findIndex((arg, at) => at > index && (arg.text === ';' || arg.text === '+'));
    groups.push(args.slice(index + 1, end === -1 ? args.length : end));
    if (end === -1) break;
    index = end;
  }
  return groups;
}

/** The first downloader program a command line runs, if any. */
function downloaderIn(source: string): string | undefined {
  try {
    for (const pipeline of parseShell(source)) {
      for (const command of pipeline) {
        const found = expand(command.words).invocations.find((invocation) => DOWNLOADERS.has(invocation.name));
        if (found !== undefined) return found.name;
      }
    }
  } catch {
    // An unparsable substitution is reported by checkSource itself.
  }
  return undefined;
}

function validatePolicy(policy: CommandPolicy): void {
  for (const key of ['allow', 'deny'] as const) {
    const patterns = policy[key];
    if (patterns === undefined) continue;
    if (!Array.isArray(patterns) || patterns.some((pattern) => typeof pattern !== 'string' || pattern.trim() === '')) {
      throw new ValidationError(`command policy "${key}" must be a list of non-empty patterns`, { details: { [key]: patterns } });
    }
    for (const pattern of patterns) compileUntrustedGlob(pattern);
  }
}
