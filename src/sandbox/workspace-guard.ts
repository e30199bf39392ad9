import { lstat, realpath } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { describeProtection, PROTECTED_NAMES, protectionOf, type ProtectedName } from './protected-paths.js';

export type PathIntent = 'read' | 'write';

/**
 * Keeps agent file tools inside one workspace directory. Every path an agent names goes through
 * `resolve`, which answers with the real absolute path (symlinks resolved) or a ValidationError, and
 * tools then use only that answer, so what was checked is what is opened.
 *
 * Refused: NUL bytes; absolute paths outside the workspace; `..` that climbs out of it; symlinks whose
 * target is outside it (a file that does not exist yet is judged by the real path of its nearest
 * existing parent, so a symlinked parent directory cannot smuggle a new file out); dangling symlinks;
 * and what protected-paths.ts protects (writes to `.colony/`, `.claude/`, `.git/`, `.mcp.json`,
 * `CLAUDE.md` and the like, at any depth; reads of `.colony/`). A protected name is looked for in the
 * path as written and in its real path, and a path that reaches a protected entry of the workspace
 * root through a symlink (`notes -> .claude`, or `.claude -> notes`) is refused as well.
 *
 * A check and the later open are two steps: a process racing to swap a directory for a symlink in
 * between is not stopped. That needs OS isolation; this guard stops agents' mistakes and path tricks.
 */
export class WorkspaceGuard {
  /** The workspace root as given, made absolute. */
  readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '' || root.includes('\0')) throw new ValidationError('workspace root must be a non-empty path');
    this.root = resolve(root);
  }

  /** The real path of the workspace root (resolved on each call, so a moved root is noticed). */
  async realRoot(): Promise<string> {
    try {
      return await realpath(this.root);
    } catch (error) {
      throw new ValidationError(`workspace root ${JSON.stringify(this.root)} is not accessible`, { cause: error, details: { root: this.root } });
    }
  }

  async resolve(userPath: string, intent: PathIntent): Promise<string> {
    if (typeof userPath !== 'string' || userPath === '') throw refused(String(userPath), intent, 'is empty');
    if (userPath.includes('\0')) throw refused(userPath, intent, 'contains a NUL byte');
    const root = await this.realRoot();
    const lexical = resolve(root, userPath);
    if (!isAbsolute(userPath) && !isInside(root, lexical)) throw refused(userPath, intent, 'climbs out of the workspace with ".."');

    const real = await realPathOf(lexical, userPath, intent);
    if (!isInside(root, real)) {
      throw refused(userPath, intent, real === lexical ? 'is outside the workspace' : `resolves through a symlink to ${real}, outside the workspace`);
    }
    const rule = await protectionAt(root, lexical, real, intent);
    if (rule !== undefined) throw refused(userPath, intent, `is ${describeProtection(rule, intent)}`);
    return real;
  }

  /** A path inside the workspace as the agent should see it: relative, with `/` separators (`.` for the root). */
  async toRelative(absolutePath: string): Promise<string> {
    const path = relative(await this.realRoot(), absolutePath);
    return path === '' ? '.' : path.split(sep).join('/');
  }
}

/**
 * The rule that forbids `intent` on a path, judged by its lexical form (what the agent wrote,
 * normalised), its real path, and whether its real path lies in a protected entry of the root.
 */
async function protectionAt(root: string, lexical: string, real: string, intent: PathIntent): Promise<ProtectedName | undefined> {
  const byName = protectionOf(relative(root, real).split(sep), intent) ?? (isInside(root, lexical) ? protectionOf(relative(root, lexical).split(sep), intent) : undefined);
  if (byName !== undefined) return byName;
  for (const rule of PROTECTED_NAMES) {
    if (intent === 'read' && !rule.unreadable) continue;
    const target = await realPathOrUndefined(join(root, rule.name));
    if (target !== undefined && isInside(target, real)) return rule;
  }
  return undefined;
}

async function realPathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

/** The real path of `path`; for a path that does not exist yet, the real path of its nearest existing ancestor plus the rest. */
async function realPathOf(path: string, userPath: string, intent: PathIntent): Promise<string> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...[...missing].reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw refused(userPath, intent, 'goes through a symlink loop', error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw refused(userPath, intent, `cannot be resolved (${code ?? 'error'})`, error);
      // realpath says ENOENT for a symlink whose target is missing too; writing through it would create the target.
      if (await isSymlink(current)) throw refused(userPath, intent, 'is a symlink whose target does not exist');
      const parent = resolve(current, '..');
      if (parent === current) throw refused(userPath, intent, 'has no existing parent directory', error);
      missing.push(basename(current));
      current = parent;
    }
  }
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function refused(userPath: string, intent: PathIntent, why: string, cause?: unknown): ValidationError {
  return new ValidationError(`path ${JSON.stringify(userPath)} ${why}`, { cause, details: { path: userPath, intent } });
}
