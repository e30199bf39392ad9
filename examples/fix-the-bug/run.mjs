// The fix-the-bug example, end to end: a small repository whose tests fail, one `colony swarm` command,
// and a branch where they pass. See README.md.
//
//   node examples/fix-the-bug/run.mjs [target-dir] [--provider anthropic|openai|...]
//
// Without --provider the model is scripted (scripted-model.mjs, over the fake LLM server that speaks
// the Anthropic protocol); with it, the swarm runs on that provider as configured (its API key in the
// environment, e.g. ANTHROPIC_API_KEY). The target directory (default: a new temporary one) becomes
// the repository; it must not exist or be empty.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const COLONY = join(HERE, '..', '..', 'bin', 'colony');
const OBJECTIVE = 'make the tests pass';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { provider: { type: 'string' } },
});

const git = (repo, ...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: gitEnv() }).trim();

/** The user's git identity may be unset on a fresh machine: the example's own commit names itself. */
function gitEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('GIT_')) delete env[key];
  return { ...env, GIT_AUTHOR_NAME: 'fix-the-bug example', GIT_AUTHOR_EMAIL: 'example@colony.invalid', GIT_COMMITTER_NAME: 'fix-the-bug example', GIT_COMMITTER_EMAIL: 'example@colony.invalid' };
}

/**
 * The repository: the project's files (with the coder agent type of `.claude/agents/`, which may use
 * the tracker), `.mcp.json`, committed; Colony's config (its hooks) beside them, untracked.
 */
function makeRepository(target) {
  if (existsSync(target) && readdirSync(target).length > 0) throw new Error(`${target} is not empty; give a new directory`);
  mkdirSync(target, { recursive: true });
  cpSync(join(HERE, 'project'), target, { recursive: true });
  writeFileSync(join(target, '.gitignore'), '.colony/\nnode_modules/\n');
  // The team's MCP servers, as Claude Code reads them: the issue tracker (mcp/tracker-server.mjs, run by
  // this Node with the SDK Colony installs).
  const tracker = { command: process.execPath, args: [join(HERE, 'mcp', 'tracker-server.mjs')] };
  writeFileSync(join(target, '.mcp.json'), `${JSON.stringify({ mcpServers: { tracker } }, null, 2)}\n`);
  git(target, 'init', '--quiet', '--initial-branch=main');
  git(target, 'add', '--all');
  git(target, 'commit', '--quiet', '--message', 'cartTotal and slugify, with their tests (two of which fail)');
  mkdirSync(join(target, '.colony'), { recursive: true });
  writeFileSync(join(target, '.colony', 'config.yaml'), readFileSync(join(HERE, 'hooks.yaml'), 'utf8'));
}

/** `npm test` in a checkout of `ref`, made in a folder of its own: whether the tests pass there, and their summary. */
function testsAt(repo, ref) {
  const checkout = mkdtempSync(join(tmpdir(), 'fix-the-bug-check-'));
  try {
    git(repo, 'worktree', 'add', '--quiet', '--detach', checkout, ref);
    try {
      const out = execFileSync('npm', ['test', '--silent'], { cwd: checkout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { pass: true, summary: summary(out) };
    } catch (error) {
      return { pass: false, summary: summary(`${error.stdout ?? ''}`) };
    } finally {
      git(repo, 'worktree', 'remove', '--force', checkout);
    }
  } finally {
    rmSync(checkout, { recursive: true, force: true });
  }
}

/** node --test's closing counts (`# pass 4` from the TAP reporter, `ℹ pass 4` from the spec one). */
function summary(output) {
  const count = (name) => Number(new RegExp(`^(?:#|ℹ) ${name} (\\d+)`, 'm').exec(output)?.[1] ?? 0);
  return `${count('pass')} passed, ${count('fail')} failed`;
}

async function main() {
  const target = resolve(positionals[0] ?? mkdtempSync(join(tmpdir(), 'fix-the-bug-')));
  makeRepository(target);
  console.log(`repository: ${target}`);
  console.log(`before: ${testsAt(target, 'HEAD').summary} on main`);

  let model;
  const env = { ...process.env };
  const providerArgs = [];
  if (values.provider) providerArgs.push('--provider', values.provider);
  else {
    const { FakeLlmServer } = await import('../../dist/testing/fake-llm-server.js');
    const { fixTheBugModel } = await import('./scripted-model.mjs');
    model = new FakeLlmServer({ defaultReply: fixTheBugModel });
    const { anthropicBaseUrl } = await model.start();
    Object.assign(env, { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'scripted-model', COLONY_PROVIDER: 'anthropic' });
    console.log(`model: scripted (fake Anthropic server at ${anthropicBaseUrl})`);
  }

  try {
    // The swarm's live view and its summary, as a person sees them; then its record, as a script reads it.
    console.log(`\n$ colony swarm "${OBJECTIVE}" --topology centralized${providerArgs.length ? ` ${providerArgs.join(' ')}` : ''}`);
    const swarm = spawn(COLONY, ['swarm', OBJECTIVE, '--topology', 'centralized', ...providerArgs], { cwd: target, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const [code] = await once(swarm, 'exit');
    const [record] = JSON.parse(execFileSync(COLONY, ['swarm', 'list', '--limit', '1', '--json'], { cwd: target, env, encoding: 'utf8' }));
    const git = record.result?.git;
    console.log(`\nswarm ${record.id}: ${record.status} (exit ${code})`);
    if (!git) throw new Error('the swarm produced no branch');
    console.log(`branch: ${git.branch} (from ${git.base.slice(0, 12)} to ${git.head.slice(0, 12)})`);
    for (const file of git.files) console.log(`  ${file.path} +${file.additions ?? '?'} -${file.deletions ?? '?'}`);
    if (git.conflicts.length > 0) console.log(`conflicts: ${git.conflicts.map((c) => `${c.planTaskId}: ${c.files.join(', ')}`).join('; ')}`);
    const after = testsAt(target, git.branch);
    console.log(`after: ${after.summary} on ${git.branch}`);
    console.log(`main is untouched: ${testsAt(target, 'main').summary} on main`);
    console.log(`\nsee it:  git -C ${target} diff main ${git.branch}\ntake it: git -C ${target} merge ${git.branch}`);
    process.exitCode = record.status === 'completed' && after.pass ? 0 : 1;
  } finally {
    await model?.close();
  }
}

await main();
