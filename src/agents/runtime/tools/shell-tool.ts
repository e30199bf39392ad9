import { z } from 'zod';
import { checkCommand } from '../../../sandbox/command-policy.js';
import { CommandSandbox } from '../../../sandbox/command-sandbox.js';
import type { ProtectedName } from '../../../sandbox/protected-paths.js';
import { runShell, type ShellResult } from '../../../sandbox/run-shell.js';
import { SANDBOX_DEFAULT_CONFIG } from '../../../sandbox/sandbox-config.js';
import { defineTool, type ShellSettings } from './agent-tool.js';

/**
 * run_shell: one command through `/bin/sh -c` in the workspace, after the command policy allowed it,
 * with the configured timeout and output cap, in the OS sandbox when there is one, and with an
 * environment built from an allow-list (never the server's).
 */

/** Without a configured sandbox: no OS isolation, the allow-listed variables of process.env. */
function sandboxOf(shell: ShellSettings): CommandSandbox {
  return shell.sandbox ?? new CommandSandbox({ config: { ...SANDBOX_DEFAULT_CONFIG, mode: 'off' }, env: process.env });
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
  async run(input, { shell, guard, workspace, signal, task, attempt }) {
    const check = checkCommand(input.command, shell.policy);
    if (!check.allowed) return { isError: true, content: `command refused by policy: ${check.reason}` };
    const cwd = input.cwd === undefined ? workspace : await guard.resolve(input.cwd, 'read');
    const timeoutMs = Math.min(input.timeout_ms ?? shell.timeoutMs, shell.timeoutMs);
    const sandbox = sandboxOf(shell);
    const launch = await sandbox.prepare({ purpose: 'agent', workspace, cwd, network: shell.network === true });
    const { result, movedAside } = await sandbox.guardingProtected(workspace, () =>
      runShell({
        command: input.command,
        cwd,
        timeoutMs,
        maxOutputBytes: shell.maxOutputBytes,
        env: launch.env,
        ...(launch.prefix ? { prefix: launch.prefix } : {}),
        ...(shell.processes ? { group: shell.processes.observe(task.id, attempt) } : {}),
        signal,
      }),
    );
    const content = [formatShellResult(result, timeoutMs), ...movedAside.map(({ rule }) => `[removed ${shownName(rule)}, which this command created: it holds ${rule.holds}, and agents may not create it]`)];
    return { content: content.join('\n'), isError: result.timedOut || result.exitCode !== 0 || movedAside.length > 0 };
  },
});

function shownName(rule: ProtectedName): string {
  return rule.directory ? `${rule.name}/` : rule.name;
}

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
