import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../src/domain/errors.js';
import { AGENT_CAPABILITIES, isKnownCapability } from '../src/agents/catalog/capabilities.js';
import { builtinAgentsDir, loadAgentCatalog } from '../src/agents/catalog/load-agent-catalog.js';
import { parseAgentFile } from '../src/agents/catalog/parse-agent-file.js';

const REQUIRED_TYPES = [
  'coder', 'reviewer', 'tester', 'architect', 'researcher', 'planner', 'queen-coordinator', 'mesh-coordinator',
  'hierarchical-coordinator', 'domain-manager', 'documenter', 'debugger', 'refactorer', 'security-auditor',
  'performance-engineer', 'devops-engineer', 'database-engineer', 'api-designer', 'frontend-developer',
  'backend-developer', 'mobile-developer', 'ml-engineer', 'data-engineer', 'technical-writer', 'code-analyzer',
  'consensus-voter', 'aggregator',
];
/** Claude Code's built-in tool names: the shipped files use no others, so they also work in `.claude/agents/`. */
const CLAUDE_CODE_TOOLS = new Set(['Read', 'Write', 'Edit', 'MultiEdit', 'Grep', 'Glob', 'Bash', 'WebFetch', 'WebSearch', 'TodoWrite']);
const MODELS = new Set(['sonnet', 'opus', 'haiku']);

function agentFile(frontmatter: string, body = 'You are a test agent.\nDo the thing.'): string {
  return `---\n${frontmatter}\n---\n\n${body}\n`;
}

describe('the shipped agent catalog', () => {
  it('loads every builtin file without problems', async () => {
    const files = (await readdir(builtinAgentsDir())).filter((name) => name.endsWith('.md'));
    const { types, problems } = await loadAgentCatalog({ builtinDir: builtinAgentsDir() });
    expect(problems).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(55);
    // One type per file means no two files share a name.
    expect(types.size).toBe(files.length);
  });

  it('names every type after its file and marks it builtin', async () => {
    const { types } = await loadAgentCatalog({ builtinDir: builtinAgentsDir() });
    for (const [name, type] of types) {
      expect(basename(type.path, '.md')).toBe(name);
      expect(type.source).toBe('builtin');
    }
  });

  it('contains the required agent types', async () => {
    const { types } = await loadAgentCatalog({ builtinDir: builtinAgentsDir() });
    for (const name of REQUIRED_TYPES) expect(types.has(name), name).toBe(true);
  });

  it('uses only the capability vocabulary, and every word of it', async () => {
    const { types } = await loadAgentCatalog({ builtinDir: builtinAgentsDir() });
    const used = new Set<string>();
    for (const type of types.values()) {
      expect(type.capabilities.length, type.name).toBeGreaterThan(0);
      for (const capability of type.capabilities) {
        expect(isKnownCapability(capability), `${type.name}: ${capability}`).toBe(true);
        used.add(capability);
      }
    }
    // A vocabulary word no agent offers would make tasks requiring it unschedulable.
    expect([...used].sort()).toEqual([...AGENT_CAPABILITIES].sort());
  });

  it('gives every type a description, known tools, a model and a substantive, distinct prompt', async () => {
    const { types } = await loadAgentCatalog({ builtinDir: builtinAgentsDir() });
    const descriptions = new Set<string>();
    for (const type of types.values()) {
      expect(type.description.length, type.name).toBeGreaterThan(40);
      descriptions.add(type.description);
      expect(type.tools.length, type.name).toBeGreaterThan(0);
      for (const tool of type.tools) expect(CLAUDE_CODE_TOOLS.has(tool), `${type.name}: ${tool}`).toBe(true);
      expect(MODELS.has(type.model ?? ''), type.name).toBe(true);
      const lines = type.systemPrompt.split('\n').length;
      expect(lines, type.name).toBeGreaterThanOrEqual(12);
      expect(lines, type.name).toBeLessThanOrEqual(40);
    }
    expect(descriptions.size).toBe(types.size);
  });

  it('ships strictly valid YAML, so other tools that read .claude/agents parse it too', async () => {
    const dir = builtinAgentsDir();
    for (const name of await readdir(dir)) {
      const text = await readFile(join(dir, name), 'utf8');
      const yaml = text.split('\n---\n')[0]?.replace(/^---\n/, '') ?? '';
      expect(() => parseYaml(yaml), name).not.toThrow();
    }
  });

  it('finds the agents folder at the package root', () => {
    expect(basename(builtinAgentsDir())).toBe('agents');
    expect(existsSync(join(builtinAgentsDir(), '..', 'package.json'))).toBe(true);
  });
});

describe('project agent files', () => {
  let root: string;
  let builtinDir: string;
  let projectDir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'colony-agents-'));
    builtinDir = join(root, 'builtin');
    projectDir = join(root, 'project');
    await mkdir(builtinDir);
    await mkdir(projectDir);
    await writeFile(
      join(builtinDir, 'coder.md'),
      agentFile('name: coder\ndescription: Builtin coder.\ntools: Read, Write\nmodel: sonnet\ncapabilities: [code]'),
    );
    await writeFile(
      join(builtinDir, 'tester.md'),
      agentFile('name: tester\ndescription: Builtin tester.\ncapabilities:\n  - test'),
    );
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function writeAgent(folder: '.claude' | '.colony', file: string, text: string): Promise<string> {
    const dir = join(projectDir, folder, 'agents');
    await mkdir(dir, { recursive: true });
    const path = join(dir, file);
    await writeFile(path, text);
    return path;
  }

  it('is fine without .claude or .colony folders', async () => {
    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });
    expect(problems).toEqual([]);
    expect([...types.keys()].sort()).toEqual(['coder', 'tester']);
  });

  it('loads .claude/agents files as source claude, overriding builtins by name', async () => {
    const path = await writeAgent('.claude', 'my-coder.md', agentFile('name: coder\ndescription: Our coder.', 'Project prompt.'));
    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });
    expect(problems).toEqual([]);
    expect(types.get('coder')).toMatchObject({ source: 'claude', path, description: 'Our coder.', systemPrompt: 'Project prompt.' });
    expect(types.get('tester')?.source).toBe('builtin');
  });

  it('lets .colony/agents override both .claude/agents and builtins', async () => {
    await writeAgent('.claude', 'coder.md', agentFile('name: coder\ndescription: Claude coder.'));
    const path = await writeAgent('.colony', 'coder.md', agentFile('name: coder\ndescription: Colony coder.\nmax_concurrency: 3'));
    await writeAgent('.colony', 'sql-reviewer.md', agentFile('name: sql-reviewer\ndescription: Reviews SQL.\ncapabilities: [database, review]'));
    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });
    expect(problems).toEqual([]);
    expect(types.get('coder')).toMatchObject({ source: 'project', path, description: 'Colony coder.', maxConcurrency: 3 });
    expect(types.get('sql-reviewer')).toMatchObject({ source: 'project', capabilities: ['database', 'review'] });
    expect(types.size).toBe(3);
  });

  it('accepts Claude Code style files with only name, description and tools', async () => {
    await writeAgent(
      '.claude',
      'explorer.md',
      agentFile('name: explorer\ndescription: Finds code.\ntools: Read, Grep,  Glob\ncolor: blue', 'Explore the codebase.'),
    );
    await writeAgent('.claude', 'listed.md', agentFile('name: listed\ndescription: Tools as a list.\ntools:\n  - Read\n  - Bash\nmodel: inherit'));
    await writeAgent('.claude', 'bare.md', agentFile('name: bare\ndescription: No tools key at all.'));
    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });
    expect(problems).toEqual([]);
    expect(types.get('explorer')).toMatchObject({
      tools: ['Read', 'Grep', 'Glob'],
      model: null,
      capabilities: [],
      maxConcurrency: 1,
      systemPrompt: 'Explore the codebase.',
    });
    expect(types.get('listed')).toMatchObject({ tools: ['Read', 'Bash'], model: null });
    expect(types.get('bare')?.tools).toEqual([]);
  });

  it('accepts an unquoted description containing ": ", as Claude Code does', async () => {
    await writeAgent(
      '.claude',
      'pr-helper.md',
      agentFile('name: pr-helper\ndescription: Use this agent for PRs. Examples: user: "review PR 12"\ntools: Read'),
    );
    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });
    expect(problems).toEqual([]);
    expect(types.get('pr-helper')?.description).toBe('Use this agent for PRs. Examples: user: "review PR 12"');
  });

  it('reports malformed files as problems naming the file and the key, and loads the rest', async () => {
    const cases: { file: string; text: string; expected: RegExp }[] = [
      { file: 'bad-yaml.md', text: agentFile('name: bad-yaml\ndescription: x\ntools: [Read, Write'), expected: /invalid YAML/ },
      { file: 'no-name.md', text: agentFile('description: Has no name.'), expected: /"name" is required/ },
      { file: 'bad-name.md', text: agentFile('name: Bad_Name\ndescription: Not kebab-case.'), expected: /"name" must be kebab-case/ },
      { file: 'empty-body.md', text: agentFile('name: empty-body\ndescription: Nothing below.', '  \n'), expected: /body .* is empty/ },
      {
        file: 'caps-string.md',
        text: agentFile('name: caps-string\ndescription: Capabilities as a string.\ncapabilities: code, test'),
        expected: /"capabilities" must be a YAML list/,
      },
      { file: 'no-frontmatter.md', text: '# Just markdown\n\nNo frontmatter here.\n', expected: /no YAML frontmatter/ },
      { file: 'unclosed.md', text: '---\nname: unclosed\ndescription: x\n\nbody\n', expected: /not closed/ },
      {
        file: 'zero-concurrency.md',
        text: agentFile('name: zero-concurrency\ndescription: x\nmax_concurrency: 0'),
        expected: /"max_concurrency" must be at least 1/,
      },
    ];
    const paths = new Map<string, RegExp>();
    for (const { file, text, expected } of cases) paths.set(await writeAgent('.colony', file, text), expected);
    await writeAgent('.colony', 'good.md', agentFile('name: good\ndescription: Fine.'));

    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });

    expect(problems.map((problem) => problem.path).sort()).toEqual([...paths.keys()].sort());
    for (const problem of problems) {
      expect(problem.message).toContain(problem.path);
      expect(problem.message).toMatch(paths.get(problem.path) ?? /never/);
    }
    expect(types.get('good')?.source).toBe('project');
    expect(types.size).toBe(3);
  });

  it('reports two files of one folder claiming the same name, keeping the first', async () => {
    const first = await writeAgent('.colony', 'a.md', agentFile('name: twin\ndescription: First.'));
    const second = await writeAgent('.colony', 'b.md', agentFile('name: twin\ndescription: Second.'));
    const { types, problems } = await loadAgentCatalog({ builtinDir, projectDir });
    expect(types.get('twin')?.path).toBe(first);
    expect(problems).toEqual([{ path: second, message: expect.stringContaining('already defined') }]);
  });

  it('reports a missing builtin directory instead of throwing', async () => {
    const missing = join(root, 'nowhere');
    const { types, problems } = await loadAgentCatalog({ builtinDir: missing, projectDir });
    expect(types.size).toBe(0);
    expect(problems).toEqual([{ path: missing, message: expect.stringContaining('cannot read agent directory') }]);
  });
});

describe('parseAgentFile', () => {
  it('throws a ValidationError whose details name the file and each bad key', () => {
    let caught: unknown;
    try {
      parseAgentFile(agentFile('name: 42\ndescription: ""\ntools: 7'), '/p/x.md', 'project');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const error = caught as ValidationError;
    expect(error.message).toMatch(/^\/p\/x\.md: invalid frontmatter: /);
    expect(error.details['issues']).toEqual([
      { key: 'name', message: 'must be a string' },
      { key: 'description', message: 'must not be empty' },
      { key: 'tools', message: 'must be a comma-separated string or a list of tool names' },
    ]);
  });

  it('names the element of a list that is wrong', () => {
    expect(() => parseAgentFile(agentFile('name: a\ndescription: b\ncapabilities: [code, Bad Word]'), 'f.md', 'claude')).toThrow(
      /"capabilities\[1\]" must contain only kebab-case words/,
    );
  });

  it('points YAML errors at the line of the file', () => {
    // Line 1 is the opening fence, so the duplicate key on the YAML's third line is the file's fourth.
    expect(() => parseAgentFile(agentFile('name: a\ndescription: b\nname: c'), 'f.md', 'claude')).toThrow(
      /^f\.md:4: invalid YAML in frontmatter: Map keys must be unique/,
    );
  });

  it('reads files with CRLF line endings and a byte-order mark', () => {
    const text = '\uFEFF---\r\nname: windows\r\ndescription: Saved on Windows.\r\n---\r\nPrompt line.\r\n';
    expect(parseAgentFile(text, 'w.md', 'claude')).toMatchObject({ name: 'windows', systemPrompt: 'Prompt line.' });
  });

  it('deduplicates tools and capabilities and keeps an explicit model', () => {
    const type = parseAgentFile(
      agentFile('name: a\ndescription: b\ntools: Read, Read, Bash\nmodel: claude-sonnet-4-5\ncapabilities: [code, code]'),
      'f.md',
      'builtin',
    );
    expect(type).toMatchObject({ tools: ['Read', 'Bash'], model: 'claude-sonnet-4-5', capabilities: ['code'] });
  });
});
