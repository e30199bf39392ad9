import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import { WorkspaceGuard } from '../src/sandbox/workspace-guard.js';

describe('WorkspaceGuard', () => {
  let base: string;
  let root: string;
  let outside: string;
  let guard: WorkspaceGuard;

  beforeEach(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'colony-guard-')));
    root = join(base, 'workspace');
    outside = join(base, 'outside');
    await mkdir(join(root, 'src'), { recursive: true });
    await mkdir(join(root, '.git'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'src', 'a.ts'), 'export {};\n');
    await writeFile(join(outside, 'secret.txt'), 'secret\n');
    guard = new WorkspaceGuard(root);
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function refusal(path: string, intent: 'read' | 'write' = 'read'): Promise<ValidationError> {
    const error = await guard.resolve(path, intent).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error, `expected ${path} to be refused`).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.message).toContain(JSON.stringify(path));
    return validation;
  }

  it('resolves paths inside the workspace to real absolute paths', async () => {
    expect(await guard.resolve('src/a.ts', 'read')).toBe(join(root, 'src', 'a.ts'));
    expect(await guard.resolve('./src/../src/a.ts', 'read')).toBe(join(root, 'src', 'a.ts'));
    expect(await guard.resolve(join(root, 'src'), 'read')).toBe(join(root, 'src'));
    expect(await guard.resolve('.', 'read')).toBe(root);
  });

  it('resolves a new file, even under directories that do not exist yet', async () => {
    expect(await guard.resolve('new/deep/file.txt', 'write')).toBe(join(root, 'new', 'deep', 'file.txt'));
  });

  it('refuses .. escapes', async () => {
    expect((await refusal('../x')).message).toMatch(/climbs out of the workspace/);
    await refusal('src/../../outside/secret.txt');
  });

  it('refuses absolute paths outside the workspace', async () => {
    expect((await refusal('/etc/passwd')).message).toMatch(/outside the workspace/);
    await refusal(join(outside, 'secret.txt'), 'write');
  });

  it('refuses a symlink pointing outside', async () => {
    await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
    expect((await refusal('link.txt')).message).toMatch(/through a symlink to .*outside/);
    await refusal('link.txt', 'write');
  });

  it('refuses a new file under a symlinked parent directory pointing outside', async () => {
    await symlink(outside, join(root, 'escape'));
    await refusal('escape/new-file.txt', 'write');
    await refusal('escape/secret.txt', 'read');
  });

  it('refuses a dangling symlink, which a write would follow outside', async () => {
    await symlink(join(outside, 'not-yet.txt'), join(root, 'dangling'));
    expect((await refusal('dangling', 'write')).message).toMatch(/symlink whose target does not exist/);
  });

  it('allows a symlink that stays inside the workspace', async () => {
    await symlink(join(root, 'src'), join(root, 'src-link'));
    expect(await guard.resolve('src-link/a.ts', 'read')).toBe(join(root, 'src', 'a.ts'));
  });

  it('refuses writes into .git and .colony, but allows reading .git', async () => {
    expect((await refusal('.git/config', 'write')).message).toMatch(/refused: \.git\/ holds git's internals.*agents may not change it/);
    await refusal('.colony/state.db', 'write');
    await refusal('vendor/lib/.git/HEAD', 'write');
    await symlink(join(root, '.git'), join(root, 'git-alias'));
    await refusal('git-alias/hooks/pre-commit', 'write');
    expect(await guard.resolve('.git/config', 'read')).toBe(join(root, '.git', 'config'));
  });

  it("refuses writes to Colony's and Claude Code's configuration, naming the rule", async () => {
    await mkdir(join(root, '.claude', 'agents'), { recursive: true });
    await writeFile(join(root, '.claude', 'agents', 'coder.md'), '---\nname: coder\n---\n');
    expect((await refusal('.claude/agents/coder.md', 'write')).message).toContain(
      "refused: .claude/ holds Claude Code's configuration (agents, settings, commands, hooks); agents may not change it",
    );
    expect((await refusal('.mcp.json', 'write')).message).toContain('refused: .mcp.json holds the MCP servers Claude Code starts');
    expect((await refusal('.colony/config.yaml', 'write')).message).toContain("refused: .colony/ holds Colony's configuration");
    for (const path of [
      '.claude/settings.json',
      '.claude/hooks/pre-tool.sh',
      '.claude',
      'CLAUDE.md',
      'docs/CLAUDE.md',
      'CLAUDE.local.md',
      '.claude.json',
      'packages/app/.mcp.json',
      '.colony/agents/coder.md',
      '.git/hooks/pre-commit',
    ]) {
      await refusal(path, 'write');
    }
    // Reading Claude Code's configuration stays allowed.
    expect(await guard.resolve('.claude/agents/coder.md', 'read')).toBe(join(root, '.claude', 'agents', 'coder.md'));
  });

  it('holds against path tricks: .., ./, trailing slashes, case and absolute paths', async () => {
    await mkdir(join(root, '.claude', 'agents'), { recursive: true });
    for (const path of [
      './.claude/../.claude/agents/x.md',
      'src/../.claude/agents/x.md',
      '.claude/agents/',
      '.claude//agents/x.md',
      '.CLAUDE/agents/x.md',
      '.Colony/config.yaml',
      'claude.MD',
      '.MCP.json',
      join(root, '.claude', 'agents', 'x.md'),
    ]) {
      await refusal(path, 'write');
    }
  });

  it('refuses protected configuration reached through a symlink, in either direction', async () => {
    await mkdir(join(root, 'notes'), { recursive: true });
    await mkdir(join(root, '.claude'), { recursive: true });
    // A directory that is a symlink to .claude: its real path is inside .claude.
    await symlink(join(root, '.claude'), join(root, 'alias'));
    expect((await refusal('alias/agents/x.md', 'write')).message).toMatch(/refused: \.claude\//);
    await writeFile(join(root, 'mcp-servers.json'), '{}');
    await symlink(join(root, 'mcp-servers.json'), join(root, '.mcp.json'));
    // .mcp.json is a symlink to an ordinary file: writing either name changes what Claude Code reads.
    expect((await refusal('mcp-servers.json', 'write')).message).toMatch(/refused: \.mcp\.json/);
    await refusal('.mcp.json', 'write');
    await rm(join(root, '.claude'), { recursive: true });
    await symlink(join(root, 'notes'), join(root, '.claude'));
    expect((await refusal('notes/agents/coder.md', 'write')).message).toMatch(/refused: \.claude\//);
    expect(await guard.resolve('notes/agents/coder.md', 'read')).toBe(join(root, 'notes', 'agents', 'coder.md'));
  });

  it('refuses reading .colony, which holds the database and keys', async () => {
    await mkdir(join(root, '.colony', 'keys'), { recursive: true });
    await writeFile(join(root, '.colony', 'keys', 'signing.key'), 'secret\n');
    expect((await refusal('.colony/keys/signing.key', 'read')).message).toContain("refused: .colony/ holds Colony's configuration, agent definitions, database and keys; agents may not read it");
    await refusal('.colony', 'read');
    await refusal('./src/../.colony/colony.db', 'read');
  });

  it('refuses NUL bytes and empty paths', async () => {
    await expect(guard.resolve('src/a.ts\0.png', 'read')).rejects.toThrow(/NUL byte/);
    await expect(guard.resolve('', 'read')).rejects.toBeInstanceOf(ValidationError);
  });

  it('accepts a workspace root reached through a symlink', async () => {
    await symlink(root, join(base, 'root-link'));
    const viaLink = new WorkspaceGuard(join(base, 'root-link'));
    expect(await viaLink.resolve('src/a.ts', 'read')).toBe(join(root, 'src', 'a.ts'));
    expect(await viaLink.resolve(join(base, 'root-link', 'src', 'a.ts'), 'read')).toBe(join(root, 'src', 'a.ts'));
    expect(await viaLink.toRelative(join(root, 'src', 'a.ts'))).toBe('src/a.ts');
  });
});
