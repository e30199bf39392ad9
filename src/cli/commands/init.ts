import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOOK_DEFAULT_TIMEOUT_SECONDS } from '../../hooks/hook-defaults.js';
import { DEFAULTS } from '../../kernel/constants.js';
import { defaultShellConcurrency } from '../../app/config.js';
import { ValidationError } from '../../domain/errors.js';
import type { GlobalOptions } from '../cli-context.js';
import { openColony } from '../cli-context.js';
import { color, printJson, println } from '../output.js';

const CONFIG_TEMPLATE = `# Colony configuration. Every key is optional; shown values are the defaults.
# Environment variables (COLONY_DB, COLONY_CONCURRENCY, ...) and command-line flags override this file.
# database:
#   url: sqlite:.colony/colony.db   # the database by URL (COLONY_DATABASE_URL); or:
#   path: .colony/colony.db
#   busyTimeoutMs: ${DEFAULTS.sqliteBusyTimeoutMs}
# tasks:
#   concurrency: ${DEFAULTS.taskConcurrency}        # attempts at once in one process (most wait on model calls)
#   shellConcurrency: ${defaultShellConcurrency()}        # shell tasks at once (each an OS process): ${DEFAULTS.shellTasksPerCpu} per CPU
#   defaultTimeoutMs: ${DEFAULTS.taskTimeoutMs}
#   defaultMaxRetries: ${DEFAULTS.taskMaxRetries}
#   retryBaseDelayMs: ${DEFAULTS.retryBaseDelayMs}
#   retryMaxDelayMs: ${DEFAULTS.retryMaxDelayMs}
#   drainTimeoutMs: ${DEFAULTS.drainTimeoutMs}
# agents:
#   maxAgents: ${DEFAULTS.maxAgents}
# shell:
#   timeoutMs: ${DEFAULTS.shellTimeoutMs}
#   maxOutputBytes: ${DEFAULTS.shellMaxOutputBytes}
# hooks:                          # commands at lifecycle points, run in the task's workspace like an agent's run_shell
#   claudeSettings: true           # also read the hooks of .claude/settings.json and .claude/settings.local.json
#   taskCompleting:                # (none by default; for example) before an agent's task may complete:
#     - command: npm test          #   a failure sends the output back to the agent, which goes on
#       timeout: ${HOOK_DEFAULT_TIMEOUT_SECONDS}                # seconds
#       blocking: true             # any failure blocks (false: only reported; unset: exit code 2 blocks)
#   fileEdited:                    # (for example) after write_file / edit_file; the file is in $COLONY_FILE
#     - command: npx prettier --write "$COLONY_FILE"
#       matcher: write_file|edit_file
#       blocking: false
#   taskStart: []                  # taskEnd, toolCalling and swarmEnded too; see README "Hooks"
# log:
#   level: warn
`;

const AGENTS_README = `Put your own agent types here as Markdown files with YAML frontmatter, the format Claude Code uses
for .claude/agents/*.md (name, description, tools, model), plus Colony's keys:
  capabilities: [code, review]   # what tasks the agent can take
  max_concurrency: 1             # tasks one agent runs at once
The Markdown body is the agent's system prompt. A file here overrides a built-in type of the same name.
Files in .claude/agents/ are loaded too.
`;

const GITIGNORE = `# The database and its write-ahead log are local state.
colony.db
colony.db-wal
colony.db-shm
*.bak-*
`;

/** The project's `.mcp.json`, so that Claude Code starts `colony mcp` (this installation's bin). */
function mcpJson(): string {
  const bin = fileURLToPath(new URL('../../../bin/colony', import.meta.url));
  return `${JSON.stringify({ mcpServers: { colony: { command: bin, args: ['mcp'] } } }, null, 2)}\n`;
}

interface InitFile {
  path: string;
  content: string;
}

/**
 * Creates `.colony/` with a commented config, an agents folder and a .gitignore, then the database.
 * Never writes outside the project; an existing file is kept, or with --force backed up first.
 */
export async function initCommand(options: GlobalOptions & { force?: boolean }): Promise<void> {
  const projectDir = resolve(options.project ?? process.cwd());
  if (!existsSync(projectDir)) throw new ValidationError(`project directory does not exist: ${projectDir}`);
  const dataDir = resolve(projectDir, DEFAULTS.dataDir);
  const files: InitFile[] = [
    { path: resolve(dataDir, 'config.yaml'), content: CONFIG_TEMPLATE },
    { path: resolve(dataDir, 'agents', 'README.txt'), content: AGENTS_README },
    { path: resolve(dataDir, '.gitignore'), content: GITIGNORE },
    { path: resolve(projectDir, '.mcp.json'), content: mcpJson() },
  ];
  const report: { path: string; action: 'created' | 'kept' | 'replaced'; backup?: string }[] = [];
  mkdirSync(resolve(dataDir, 'agents'), { recursive: true });
  for (const file of files) {
    const rel = relative(projectDir, file.path);
    if (rel.startsWith('..')) throw new ValidationError(`refusing to write outside the project: ${file.path}`);
    if (!existsSync(file.path)) {
      writeFileSync(file.path, file.content, { flag: 'wx' });
      report.push({ path: rel, action: 'created' });
    } else if (options.force) {
      const backup = `${file.path}.bak-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      copyFileSync(file.path, backup);
      writeFileSync(file.path, file.content);
      report.push({ path: rel, action: 'replaced', backup: relative(projectDir, backup) });
    } else {
      report.push({ path: rel, action: 'kept' });
    }
  }
  // Opening the colony creates and migrates the database.
  const colony = await openColony({ ...options, project: projectDir }, 'cli');
  const database = colony.config.database.path;
  const { schemaVersion: schema } = await colony.health();
  await colony.close();

  if (options.json) {
    printJson({ projectDir, dataDir, database, schemaVersion: schema, files: report });
    return;
  }
  println(`${color.green('✓')} Colony initialised in ${relative(process.cwd(), dataDir) || '.'}`);
  for (const r of report) {
    const note = r.action === 'kept' ? color.dim(' (exists, kept; --force replaces it after a backup)') : r.backup ? color.dim(` (backup: ${r.backup})`) : '';
    println(`  ${r.action.padEnd(8)} ${r.path}${note}`);
  }
  println(`  database ${relative(projectDir, database)} (schema ${schema})`);
}
