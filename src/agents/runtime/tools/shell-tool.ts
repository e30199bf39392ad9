import { z } from 'zod';
import { checkCommand } from '../../../sandbox/command-policy.js';
import { runShell, type ShellResult } from '../../../sandbox/run-shell.js';
import { SECRET_ENV_NAME } from '../runtime-defaults.js';
import { defineTool } from './agent-tool.js';

/**
 * run_shell: one command through `/bin/sh -c` in the workspace, after the command policy allowed it,
 * with the configured timeout and output cap, and an environment without secrets.
 */

/** The environment without variables whose names look like secrets (API keys, tokens, passwords). */
export function scrubEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !SECRET_ENV_NAME.test(name)) clean[name] = value;
  }
  return clean;
}

export const runShellTool = defineTool({
  name: 'run_shell',
  description:
    'Run a shell command (/bin/sh -c) in the workspace and get its exit code, stdout and stderr. Commands have a time limit and an output cap; stdin is closed, so nothing interactive. Some dangerous commands are refused by policy.',
  input: z.object({
    command: z.string().min(1).describe('The command line'),
    cwd: z.string().min(1).optional().describe('Directory to run in, relative to the workspace root'),
    timeout_ms: z.number().int().min(1).optional().describe('A shorter time limit than the default, in milliseconds'),
  }),
  async run(input, { shell, guard, workspace, signal }) {
    const check = checkCommand(input.command, shell.policy);
    if (!check.allowed) return { isError: true, content: `command refused by policy: ${check.reason}` };
    const cwd = input.cwd === undefined ? workspace : await guard.resolve(input.cwd, 'read');
    const timeoutMs = Math.min(input.timeout_ms ?? shell.timeoutMs, shell.timeoutMs);
    const result = await runShell({
      command: input.command,
      cwd,
      timeoutMs,
      maxOutputBytes: shell.maxOutputBytes,
      env: scrubEnvironment(shell.env ?? process.env),
      signal,
    });
    return { content: formatShellResult(result, timeoutMs), isError: result.timedOut || result.exitCode !== 0 };
  },
});

function formatShellResult(result: ShellResult, timeoutMs: number): string {
  const status = result.timedOut
    ? `timed out after ${timeoutMs} ms (the command was killed)`
    : result.exitCode === null
      ? `killed by ${result.signal ?? 'a signal'}`
      : `exit code ${result.exitCode}`;
  const parts = [status];
  if (result.stdout !== '') parts.push(`--- stdout ---\n${result.stdout}`);
  if (result.stderr !== '') parts.push(`--- stderr ---\n${result.stderr}`);
  if (result.stdout === '' && result.stderr === '') parts.push('(no output)');
  if (result.truncated) parts.push('[output cut at the size limit]');
  return parts.join('\n');
}
