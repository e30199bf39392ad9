import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeReplyFunction, RecordedRequest } from '../../src/testing/fake-llm-server.js';
import { requestText, swarmModel } from './swarm-model.js';
import { tempDir } from './temp-colony.js';

/** Swarms in a real git repository: git itself, a repository in a temp folder, and a model whose workers write files. */

/** Runs git in `dir` with a fixed identity, free of the caller's GIT_* variables; its trimmed output. */
export function git(dir: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', ...args], { cwd: dir, env, encoding: 'utf8' }).trim();
}

/** A repository with one commit holding `files`, on branch main. */
export function gitRepo(files: Record<string, string>): string {
  const dir = tempDir('colony-git-');
  git(dir, 'init', '--quiet', '--initial-branch=main');
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  git(dir, 'add', '-A');
  git(dir, 'commit', '--quiet', '-m', 'start');
  return dir;
}

/** Whether the request answers a tool call (its last message holds a tool result). */
export function hasToolResult(request: RecordedRequest): boolean {
  const messages = (request.body as { messages?: { content: unknown }[] }).messages ?? [];
  const last = messages.at(-1)?.content;
  return Array.isArray(last) && last.some((part: { type?: string }) => part.type === 'tool_result');
}

/**
 * The swarm model, with workers that write files: `writes[taskId]` is what that task's worker writes
 * (path to content) on its first turn; `resolve` is what a resolving agent writes, if anything.
 */
export function editingModel(writes: Record<string, Record<string, string>>, resolve?: Record<string, string>): FakeReplyFunction {
  const base = swarmModel();
  return (request) => {
    const text = requestText(request);
    const resolving = text.includes('stopped on conflicts in:');
    const task = /^Your task \(([^)]+)\)/m.exec(text)?.[1];
    const files = resolving ? resolve : task === undefined ? undefined : writes[task];
    if (files === undefined || (!resolving && task === undefined)) return base(request);
    if (hasToolResult(request)) return { text: resolving ? 'merged both sides' : `wrote ${Object.keys(files).join(', ')}` };
    const calls = Object.entries(files).map(([path, content]) => ({ name: 'write_file', input: { path, content } }));
    return calls.length === 0 ? { text: 'nothing to change' } : { toolCalls: calls };
  };
}
