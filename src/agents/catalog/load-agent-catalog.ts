import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentTypeDefinition } from '../../domain/agent.js';
import { ConfigError, isColonyError } from '../../domain/errors.js';
import { parseAgentFile } from './parse-agent-file.js';

export interface AgentCatalogProblem {
  path: string;
  message: string;
}

export interface AgentCatalogResult {
  /** Agent types by name, after project files have overridden builtin ones. */
  types: Map<string, AgentTypeDefinition>;
  /** Files (or directories) that could not be loaded; each was skipped. */
  problems: AgentCatalogProblem[];
}

export interface LoadAgentCatalogOptions {
  builtinDir: string;
  /** The project root; its `.claude/agents/` and `.colony/agents/` are read when given. */
  projectDir?: string;
}

interface CatalogLayer {
  dir: string;
  source: AgentTypeDefinition['source'];
  /** Our own shipped directory must exist; a project without agent folders is normal. */
  required: boolean;
}

/**
 * Loads the agent catalog: builtin types, then the project's Claude Code agents, then the project's
 * Colony agents, each later layer overriding earlier ones by name. Colony's own folder wins over
 * `.claude/agents/` because a file there is written for Colony specifically.
 * Never throws for bad files: a user's typo must not stop the colony, so it becomes a problem.
 */
export async function loadAgentCatalog(options: LoadAgentCatalogOptions): Promise<AgentCatalogResult> {
  const layers: CatalogLayer[] = [{ dir: options.builtinDir, source: 'builtin', required: true }];
  if (options.projectDir !== undefined) {
    layers.push(
      { dir: join(options.projectDir, '.claude', 'agents'), source: 'claude', required: false },
      { dir: join(options.projectDir, '.colony', 'agents'), source: 'project', required: false },
    );
  }
  const types = new Map<string, AgentTypeDefinition>();
  const problems: AgentCatalogProblem[] = [];
  for (const layer of layers) {
    const definitions = await loadLayer(layer, problems);
    for (const definition of definitions) types.set(definition.name, definition);
  }
  return { types, problems };
}

async function loadLayer(layer: CatalogLayer, problems: AgentCatalogProblem[]): Promise<AgentTypeDefinition[]> {
  const files = await listMarkdownFiles(layer, problems);
  // Read in parallel, then settle in file-name order so the result does not depend on timing.
  const outcomes = await Promise.all(files.map((path) => loadFile(path, layer.source)));
  const byName = new Map<string, AgentTypeDefinition>();
  for (const outcome of outcomes) {
    if ('problem' in outcome) {
      problems.push(outcome.problem);
      continue;
    }
    const earlier = byName.get(outcome.definition.name);
    if (earlier !== undefined) {
      // Two files of one folder claiming one name is a mistake nobody meant; keep the first, say so.
      problems.push({
        path: outcome.definition.path,
        message: `${outcome.definition.path}: agent name "${outcome.definition.name}" is already defined by ${earlier.path}; this file was skipped`,
      });
      continue;
    }
    byName.set(outcome.definition.name, outcome.definition);
  }
  return [...byName.values()];
}

async function listMarkdownFiles(layer: CatalogLayer, problems: AgentCatalogProblem[]): Promise<string[]> {
  try {
    const entries = await readdir(layer.dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.name.endsWith('.md') && (entry.isFile() || entry.isSymbolicLink()))
      .map((entry) => entry.name)
      .sort()
      .map((name) => join(layer.dir, name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    if (!missing || layer.required) {
      problems.push({ path: layer.dir, message: `${layer.dir}: cannot read agent directory: ${describe(error)}` });
    }
    return [];
  }
}

type FileOutcome = { definition: AgentTypeDefinition } | { problem: AgentCatalogProblem };

async function loadFile(path: string, source: AgentTypeDefinition['source']): Promise<FileOutcome> {
  try {
    const text = await readFile(path, 'utf8');
    return { definition: parseAgentFile(text, path, source) };
  } catch (error) {
    // Parse errors already name the file; I/O errors (a dangling symlink, no permission) do not.
    const message = isColonyError(error) ? error.message : `${path}: cannot read agent file: ${describe(error)}`;
    return { problem: { path, message } };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `agents/` folder shipped with the package. Found by walking up from this module to the
 * directory holding package.json, so it works from src/ (tests, tsx) and from dist/ alike.
 */
export function builtinAgentsDir(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'agents');
    if (dirname(dir) === dir) break;
  }
  throw new ConfigError(`cannot find the package root (a directory with package.json) above ${start}`);
}
