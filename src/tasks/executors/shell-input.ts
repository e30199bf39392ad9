import { realpathSync } from 'node:fs';
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { z } from 'zod';

/**
 * What a `shell` task's input may hold, checked when the task is created (REST, CLI, MCP, workflow
 * files) so that a task that can never run is refused with a message naming the field instead of
 * being stored and failing later. The workspace guard checks the cwd again when the task runs
 * (symlinks included); here it is judged on its text.
 */

export const MAX_SHELL_COMMAND_LENGTH = 100_000;

/** Text handed to the OS (a command, a path, an environment variable) ends at a NUL byte: one inside is refused. */
export function hasNul(text: string): boolean {
  return text.includes('\0');
}

/**
 * Why a task's working directory would leave the project directory, or null when it stays inside.
 * A relative cwd is judged alone (`..` that climbs out); an absolute one against the workspace when
 * it is known (otherwise when the task runs), as given or with its symlinks resolved.
 */
export function cwdProblem(cwd: string, workspace?: string): string | null {
  if (hasNul(cwd)) return 'contains a NUL byte';
  if (isAbsolute(cwd)) {
    if (workspace === undefined) return null;
    const target = resolve(cwd);
    return workspaceRoots(workspace).some((root) => isWithin(root, target)) ? null : 'is outside the project directory';
  }
  const climbed = normalize(cwd);
  return climbed === '..' || climbed.startsWith(`..${sep}`) ? 'leaves the project directory (climbs out with "..")' : null;
}

function workspaceRoots(workspace: string): string[] {
  const root = resolve(workspace);
  try {
    return [root, realpathSync(root)];
  } catch {
    return [root];
  }
}

function isWithin(root: string, target: string): boolean {
  const within = relative(root, target);
  return within === '' || (within !== '..' && !within.startsWith(`..${sep}`) && !isAbsolute(within));
}

/** Text a shell or the OS receives. */
export const shellTextSchema = z.string().refine((text) => !hasNul(text), 'contains a NUL byte');

/** A cwd that stays in the project directory (see cwdProblem). */
export function cwdSchema(workspace?: string) {
  return z
    .string()
    .min(1)
    .superRefine((cwd, ctx) => {
      const problem = cwdProblem(cwd, workspace);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(cwd)} ${problem}` });
    });
}

/** Environment variables: names not empty, without `=` or NUL; values as `value` says (text: no NUL). */
export function envSchema<V extends z.ZodType>(value: V) {
  return z.record(z.string(), value).superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (name === '' || name.includes('=') || hasNul(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `${JSON.stringify(name)} is not an environment variable name (not empty, no "=" or NUL byte)` });
      }
    }
  });
}

/** A shell task's input; `workspace` (the project directory) lets an absolute cwd be judged too. */
export function shellInputSchema(workspace?: string) {
  return z
    .object({
      command: shellTextSchema.min(1, 'command must not be empty').max(MAX_SHELL_COMMAND_LENGTH),
      /** Working directory relative to the workspace; must stay inside it. */
      cwd: cwdSchema(workspace).optional(),
      env: envSchema(shellTextSchema).optional(),
      /** A command run once if the task fails for good, to undo what it did. */
      rollback: shellTextSchema.min(1).optional(),
    })
    .strict();
}

export type ShellTaskInput = z.infer<ReturnType<typeof shellInputSchema>>;
