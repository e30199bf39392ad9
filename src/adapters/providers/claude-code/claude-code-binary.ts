import { execFileSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLAUDE_CODE_MIN_NODE_MAJOR, CLAUDE_CODE_PACKAGE } from './claude-code-defaults.js';

/**
 * Finding the Claude Code CLI and how to start it.
 *
 * A bare name (the default `claude`) is looked up in the project's node_modules first: each
 * `node_modules/.bin/<name>` from the working directory and from Colony's own install upwards, then,
 * for `claude`, the bin entry of `node_modules/@anthropic-ai/claude-code/package.json` (installs made
 * without bin links), then PATH. A name with a slash is a path and is used as is.
 *
 * What is found decides how it is started:
 * - a native executable (current packages copy their platform binary over `bin/claude.exe` at
 *   install time) is spawned directly;
 * - a Node script (older packages' `cli.js`, `#!/usr/bin/env node`) is run as `<node> <script>` with
 *   a Node >= 22 (this process's own when new enough, else the project's `node_modules/.bin/node`),
 *   never with whatever older `node` its shebang would find first on PATH;
 * - the package's placeholder (left when its postinstall did not run) is replaced by the package's
 *   `cli-wrapper.cjs`, run the same way, which finds and starts the platform binary.
 */

export interface ClaudeCodeLauncher {
  /** What to spawn. */
  command: string;
  /** Arguments that go before Claude Code's own (the script, when it runs through Node). */
  prefixArgs: string[];
  /** The file that was found (symlinks resolved). */
  resolvedPath: string;
}

export interface ResolveClaudeCodeOptions {
  /** Directories whose node_modules (and their parents') are searched; default cwd and Colony's install. */
  searchFrom?: string[];
  /** PATH is read from here; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

const SHEBANG = '#!';
const HEAD_BYTES = 256;
const JS_EXTENSION = /\.(c|m)?js$/;
const MODULE_DIR = path.dirname(fileURLToPath(import.meta.url));

/** How to start `binary`, or null when it cannot be found. */
export function resolveClaudeCodeLauncher(binary: string, options: ResolveClaudeCodeOptions = {}): ClaudeCodeLauncher | null {
  const file = findExecutable(binary, options);
  return file === null ? null : launcherFor(file, options.searchFrom ?? defaultSearchRoots());
}

function defaultSearchRoots(): string[] {
  return [process.cwd(), MODULE_DIR];
}

function findExecutable(binary: string, options: ResolveClaudeCodeOptions): string | null {
  if (binary.includes('/') || binary.includes(path.sep)) {
    const file = path.resolve(binary);
    return isFile(file) ? file : null;
  }
  for (const modules of nodeModulesDirs(options.searchFrom ?? defaultSearchRoots())) {
    const bin = path.join(modules, '.bin', binary);
    if (isFile(bin)) return bin;
    if (binary === 'claude') {
      const entry = packageBinEntry(path.join(modules, CLAUDE_CODE_PACKAGE), binary);
      if (entry !== null) return entry;
    }
  }
  const env = options.env ?? process.env;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, binary);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** Every node_modules directory from each root up to the filesystem root, nearest first, once each. */
function nodeModulesDirs(roots: string[]): string[] {
  const seen = new Set<string>();
  const dirs: string[] = [];
  for (const root of roots) {
    let dir = path.resolve(root);
    for (;;) {
      const modules = path.basename(dir) === 'node_modules' ? dir : path.join(dir, 'node_modules');
      if (!seen.has(modules)) {
        seen.add(modules);
        if (existsSync(modules)) dirs.push(modules);
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return dirs;
}

function packageBinEntry(packageDir: string, name: string): string | null {
  try {
    const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { bin?: unknown };
    const bin = typeof manifest.bin === 'string' ? manifest.bin : (manifest.bin as Record<string, unknown> | undefined)?.[name];
    if (typeof bin !== 'string') return null;
    const file = path.join(packageDir, bin);
    return isFile(file) ? file : null;
  } catch {
    return null;
  }
}

function launcherFor(file: string, searchRoots: string[]): ClaudeCodeLauncher {
  const real = safeRealpath(file);
  const head = readHead(real);
  const direct: ClaudeCodeLauncher = { command: file, prefixArgs: [], resolvedPath: real };
  if (head.startsWith(SHEBANG)) {
    const shebang = head.slice(0, head.indexOf('\n') === -1 ? undefined : head.indexOf('\n'));
    if (!/\bnode(js)?\b/.test(shebang)) return direct;
    return throughNode(real, real, searchRoots) ?? direct;
  }
  if (isNativeExecutable(head)) return direct;
  if (JS_EXTENSION.test(real)) return throughNode(real, real, searchRoots) ?? direct;
  // Neither a script nor a program: the package's placeholder, its postinstall never ran.
  const wrapper = path.join(path.dirname(path.dirname(real)), 'cli-wrapper.cjs');
  if (isFile(wrapper)) return throughNode(wrapper, real, searchRoots) ?? direct;
  return direct;
}

function throughNode(script: string, resolvedPath: string, searchRoots: string[]): ClaudeCodeLauncher | null {
  const node = findModernNode([path.dirname(script), ...searchRoots]);
  return node === null ? null : { command: node, prefixArgs: [script], resolvedPath };
}

const nodeVersionCache = new Map<string, number | null>();

/** This process's Node when it is new enough, else the nearest node_modules/.bin/node that is. */
export function findModernNode(searchRoots: string[]): string | null {
  if (majorOf(process.versions.node) >= CLAUDE_CODE_MIN_NODE_MAJOR) return process.execPath;
  for (const modules of nodeModulesDirs(searchRoots)) {
    const candidate = path.join(modules, '.bin', 'node');
    if (!isExecutableFile(candidate)) continue;
    const major = nodeMajor(candidate);
    if (major !== null && major >= CLAUDE_CODE_MIN_NODE_MAJOR) return candidate;
  }
  return null;
}

function nodeMajor(executable: string): number | null {
  const cached = nodeVersionCache.get(executable);
  if (cached !== undefined) return cached;
  let major: number | null;
  try {
    const version = execFileSync(executable, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    major = majorOf(version.trim().replace(/^v/, ''));
  } catch {
    major = null;
  }
  nodeVersionCache.set(executable, major);
  return major;
}

function majorOf(version: string): number {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  return Number.isNaN(major) ? 0 : major;
}

/** ELF (Linux), Mach-O (macOS, both byte orders and fat binaries) or PE (Windows). */
function isNativeExecutable(head: string): boolean {
  const bytes = Buffer.from(head, 'latin1');
  if (bytes.length < 4) return false;
  const magic = bytes.readUInt32BE(0);
  return (
    magic === 0x7f454c46 ||
    magic === 0xfeedface ||
    magic === 0xfeedfacf ||
    magic === 0xcefaedfe ||
    magic === 0xcffaedfe ||
    magic === 0xcafebabe ||
    (bytes[0] === 0x4d && bytes[1] === 0x5a)
  );
}

function readHead(file: string): string {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(HEAD_BYTES);
    const length = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    return buffer.toString('latin1', 0, length);
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function safeRealpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isExecutableFile(file: string): boolean {
  if (!isFile(file)) return false;
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
