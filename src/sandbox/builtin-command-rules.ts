import type { ShellRedirect, ShellWord } from './shell-parse.js';

/**
 * The commands the agent shell tool refuses whatever the configured policy says: ones whose damage
 * reaches past the workspace (the machine, its disks, every process, the user's home) or that run
 * code nobody reviewed. Each rule returns the reason shown to the agent, so it can choose another way.
 */

/** One program to be run, after env assignments and wrappers such as `env`, `nohup`, `xargs` are looked through. */
export interface Invocation {
  program: ShellWord;
  /** Base name of the program (`/usr/bin/rm` → `rm`). */
  name: string;
  args: ShellWord[];
}

const PRIVILEGE = new Set(['sudo', 'su', 'doas', 'pkexec', 'runuser']);
const DISK_TOOLS = new Set(['mkfs', 'mke2fs', 'mkswap', 'fdisk', 'sfdisk', 'cfdisk', 'gdisk', 'sgdisk', 'parted', 'wipefs']);
const POWER = new Set(['shutdown', 'reboot', 'halt', 'poweroff', 'telinit']);
const SYSTEMCTL_POWER = new Set(['poweroff', 'reboot', 'halt', 'kexec', 'suspend', 'hibernate', 'emergency', 'rescue']);
const RECURSIVE_OWNERS = new Set(['chmod', 'chown', 'chgrp']);
const DEVICE_WRITERS = new Set(['tee', 'cp', 'mv', 'install', 'shred', 'dd']);

/** Shells: piping anything into one runs it. */
export const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish']);
/** Other interpreters that run a program read from stdin when given no script. */
const SCRIPT_INTERPRETERS = new Set(['python', 'python3', 'perl', 'ruby', 'node', 'php']);
export const DOWNLOADERS: ReadonlySet<string> = new Set(['curl', 'wget', 'fetch', 'aria2c']);

export function isInterpreter(name: string): boolean {
  return SHELLS.has(name) || SCRIPT_INTERPRETERS.has(name);
}

/** Disks and partitions on Linux and macOS; writing to one bypasses every filesystem permission. */
const BLOCK_DEVICE = /^\/dev\/(?:[shv]d[a-z]|xvd[a-z]|nvme\d|mmcblk\d|loop\d|md\d|dm-\d|sr\d|disk|rdisk|mapper\/)/;

/** `name(){ name|name& };name` and its spellings: each call starts two more until the machine stalls. */
const FORK_BOMB = /([A-Za-z_:.][\w:.-]*)\s*(?:\(\s*\))?\s*\{[^}]*?\1\s*\|&?\s*\1\s*&/;

export function forkBombRule(source: string): string | undefined {
  return FORK_BOMB.test(source) ? 'the command looks like a fork bomb (a function that pipes into itself in the background)' : undefined;
}

/** Checks one program and its arguments. Returns why it is refused, or undefined. */
export function invocationRule(invocation: Invocation): string | undefined {
  const { name, args } = invocation;
  const texts = args.map((arg) => arg.text);
  if (PRIVILEGE.has(name)) return 'it runs commands with elevated privileges';
  if (DISK_TOOLS.has(name) || name.startsWith('mkfs.')) return 'it formats or partitions disks';
  if (POWER.has(name) || (name === 'init' && ['0', '6'].includes(texts[0] ?? ''))) return 'it shuts down or restarts the machine';
  if (name === 'systemctl' && texts.some((text) => SYSTEMCTL_POWER.has(text))) return 'it shuts down or restarts the machine';
  if (name === 'rm') return removeRule(args);
  if (RECURSIVE_OWNERS.has(name) && hasRecursiveFlag(args, ['-R', '--recursive']) && operands(args).some(isProtectedTarget)) {
    return 'it changes permissions or ownership recursively on the root, a top-level system directory or the home directory';
  }
  if (name === 'kill' && signalsEveryProcess(texts)) return 'it signals every process the user can reach (pid -1)';
  if (DEVICE_WRITERS.has(name) && texts.some((text) => BLOCK_DEVICE.test(text.replace(/^of=/, '')))) return 'it writes to a disk device';
  return undefined;
}

/** Output redirections onto a disk device (`> /dev/sda`). */
export function redirectRule(redirect: ShellRedirect): string | undefined {
  if (redirect.target === undefined || (redirect.op.startsWith('<') && redirect.op !== '<>')) return undefined;
  return BLOCK_DEVICE.test(redirect.target.text) ? `redirecting output to ${redirect.target.text} writes to a disk device` : undefined;
}

/** `curl … | sh` and the like: a download piped into an interpreter that reads its program from stdin. */
export function pipelineRule(stages: Invocation[][]): string | undefined {
  let downloader: string | undefined;
  for (const stage of stages) {
    const interpreter = stage.find(readsProgramFromStdin);
    if (downloader !== undefined && interpreter !== undefined) {
      return `piping a download (${downloader}) into an interpreter (${interpreter.name}) runs code nobody reviewed`;
    }
    downloader ??= stage.find((invocation) => DOWNLOADERS.has(invocation.name))?.name;
  }
  return undefined;
}

/** Whether this invocation takes its program from stdin (so a pipe into it runs whatever arrives). */
export function readsProgramFromStdin(invocation: Invocation): boolean {
  const isShell = SHELLS.has(invocation.name);
  if (!isShell && !SCRIPT_INTERPRETERS.has(invocation.name)) return false;
  for (const arg of invocation.args) {
    const text = arg.text;
    if (text === '-' || text === '-s') return true;
    if (text.startsWith('--')) continue;
    if (text.startsWith('-')) {
      if (/[cme]/.test(text.slice(1)) && !isShell) return false; // python -c/-m, perl -e, node -e
      if (isShell && text.slice(1).includes('c')) return false;
      continue;
    }
    return false; // a script file
  }
  return true;
}

function removeRule(args: ShellWord[]): string | undefined {
  if (args.some((arg) => arg.text === '--no-preserve-root')) return 'it removes files with --no-preserve-root';
  if (!hasRecursiveFlag(args, ['-r', '-R', '--recursive'])) return undefined;
  const targets = operands(args);
  if (targets.some(isProtectedTarget)) return 'it recursively deletes the root, a top-level system directory or the home directory';
  if (targets.some((arg) => /^\$\{?\w+\}?\/\*?$/.test(arg.text))) {
    return `it recursively deletes "${targets.find((arg) => /^\$/.test(arg.text))?.text}", which is / when the variable is empty`;
  }
  return undefined;
}

/** `/`, `/*`, `/etc`, `/usr/*`, `~`, `~/`, `$HOME`, `${HOME}/*`: targets whose loss is not confined to a project. */
function isProtectedTarget(arg: ShellWord): boolean {
  const text = arg.text.replace(/\/+$/, '') || '/';
  if (/^(?:~|\$HOME|\$\{HOME\})(?:\/\*?)?$/.test(text)) return true;
  return /^\/(?:[^/]+)?(?:\/\*?)?$/.test(text.replace(/\/\.$/, '')) || text === '/.' || text === '/..';
}

function hasRecursiveFlag(args: ShellWord[], flags: string[]): boolean {
  const letters = flags.filter((flag) => /^-\w$/.test(flag)).map((flag) => flag[1]!);
  for (const arg of args) {
    const text = arg.text;
    if (text === '--') return false;
    if (flags.includes(text)) return true;
    if (/^-[A-Za-z]+$/.test(text) && letters.some((letter) => text.includes(letter))) return true;
  }
  return false;
}

/** The non-option arguments (everything after `--`, and words not starting with `-`). */
function operands(args: ShellWord[]): ShellWord[] {
  const separator = args.findIndex((arg) => arg.text === '--');
  const before = separator === -1 ? args : args.slice(0, separator);
  const after = separator === -1 ? [] : args.slice(separator + 1);
  return [...before.filter((arg) => !arg.text.startsWith('-') || arg.text === '-'), ...after];
}

/** `kill -9 -1`, `kill -s KILL -1`, `kill -- -1`: pid -1 means every process. */
function signalsEveryProcess(args: string[]): boolean {
  let index = 0;
  if (args[0] === '-s' || args[0] === '-n') index = 2;
  else if (args[0] !== undefined && args[0].startsWith('-') && args[0] !== '--' && args.length > 1) index = 1;
  if (args[index] === '--') index++;
  return args.slice(index).includes('-1');
}
