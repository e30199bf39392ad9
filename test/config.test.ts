import { availableParallelism } from 'node:os';
import { MEMORY_DEFAULTS } from '../src/memory/memory-defaults.js';
import { AGENT_DEFAULT_MAX_TOKENS, AGENT_DEFAULT_MAX_TURNS } from '../src/agents/runtime/runtime-defaults.js';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKind, loadConfig, type ConfigSources } from '../src/app/config.js';
import { DEFAULTS } from '../src/kernel/constants.js';
import { ConfigError } from '../src/domain/errors.js';

describe('loadConfig', () => {
  let project: string;

  beforeEach(() => {
    project = realpathSync(mkdtempSync(join(tmpdir(), 'colony-config-')));
  });

  afterEach(() => {
    rmSync(project, { recursive: true, force: true });
  });

  function writeConfig(name: string, text: string, dir = join(project, '.colony')): string {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** The ConfigError `loadConfig` throws for these sources. */
  function configError(sources: ConfigSources): ConfigError {
    try {
      loadConfig(sources);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe('config');
      return error as ConfigError;
    }
    throw new Error('expected loadConfig to throw');
  }

  it('gives the defaults for a project without configuration', () => {
    const { config, file } = loadConfig({ projectDir: project });
    expect(file).toBeUndefined();
    expect(config).toEqual({
      projectDir: project,
      dataDir: join(project, '.colony'),
      database: {
        url: null,
        path: join(project, '.colony', 'colony.db'),
        busyTimeoutMs: DEFAULTS.sqliteBusyTimeoutMs,
        poolSize: DEFAULTS.postgresPoolSize,
        connectionTimeoutMs: DEFAULTS.postgresConnectionTimeoutMs,
        statementTimeoutMs: DEFAULTS.postgresStatementTimeoutMs,
      },
      tasks: {
        concurrency: DEFAULTS.taskConcurrency,
        shellConcurrency: Math.max(DEFAULTS.minShellConcurrency, availableParallelism() * DEFAULTS.shellTasksPerCpu),
        defaultTimeoutMs: DEFAULTS.taskTimeoutMs,
        defaultMaxRetries: DEFAULTS.taskMaxRetries,
        retryBaseDelayMs: DEFAULTS.retryBaseDelayMs,
        retryMaxDelayMs: DEFAULTS.retryMaxDelayMs,
        retryJitter: DEFAULTS.retryJitter,
        pollIntervalMs: DEFAULTS.schedulerPollMs,
        drainTimeoutMs: DEFAULTS.drainTimeoutMs,
      },
      agents: { maxAgents: DEFAULTS.maxAgents, defaultProvider: 'anthropic', maxTurns: AGENT_DEFAULT_MAX_TURNS, maxTokensPerTask: AGENT_DEFAULT_MAX_TOKENS },
      providers: {},
      shell: { timeoutMs: DEFAULTS.shellTimeoutMs, maxOutputBytes: DEFAULTS.shellMaxOutputBytes },
      sandbox: { mode: 'auto', bwrapPath: 'bwrap', shellTasks: true, shellTaskNetwork: true, agentNetwork: false, passEnv: [], hidePaths: [] },
      log: { level: 'warn' },
      memory: {
        redisUrl: null,
        l1MaxBytes: MEMORY_DEFAULTS.l1MaxBytes,
        l1TtlMs: MEMORY_DEFAULTS.l1TtlMs,
        l1RevalidateMs: MEMORY_DEFAULTS.l1RevalidateMs,
        l2TtlMs: MEMORY_DEFAULTS.l2TtlMs,
        gcIntervalMs: MEMORY_DEFAULTS.gcIntervalMs,
        embedder: 'local',
        embeddingModel: DEFAULTS.openaiEmbeddingModel,
        embeddingDimensions: DEFAULTS.openaiEmbeddingDimensions,
        contextMemories: DEFAULTS.agentContextMemories,
      },
      mcp: { servers: {}, projectFile: true },
      hooks: { claudeSettings: true, taskStart: [], taskEnd: [], toolCalling: [], fileEdited: [], taskCompleting: [], swarmEnded: [] },
      server: {
        host: DEFAULTS.serverHost,
        port: DEFAULTS.serverPort,
        corsOrigins: [],
        rateLimit: { max: DEFAULTS.serverRateLimitMax, windowMs: DEFAULTS.serverRateLimitWindowMs },
        bodyLimitBytes: DEFAULTS.serverBodyLimitBytes,
      },
    });
  });

  it('resolves a relative project directory', () => {
    const cwd = process.cwd();
    try {
      process.chdir(project);
      expect(loadConfig({ projectDir: '.' }).config.projectDir).toBe(project);
    } finally {
      process.chdir(cwd);
    }
  });

  it('applies file < environment < overrides, key by key', () => {
    const file = writeConfig(
      'config.yaml',
      ['tasks:', '  concurrency: 3', '  defaultMaxRetries: 7', 'agents:', '  maxAgents: 11', 'log:', '  level: info', ''].join('\n'),
    );
    const onlyFile = loadConfig({ projectDir: project });
    expect(onlyFile.file).toBe(file);
    expect(onlyFile.config.tasks.concurrency).toBe(3);
    expect(onlyFile.config.tasks.defaultMaxRetries).toBe(7);
    expect(onlyFile.config.agents.maxAgents).toBe(11);
    expect(onlyFile.config.log.level).toBe('info');
    // Keys the file does not set keep their defaults, even inside a section it does set.
    expect(onlyFile.config.tasks.defaultTimeoutMs).toBe(DEFAULTS.taskTimeoutMs);

    const env = { COLONY_CONCURRENCY: '5', COLONY_MAX_AGENTS: '12', COLONY_LOG_LEVEL: 'debug', UNRELATED: 'x' };
    const withEnv = loadConfig({ projectDir: project, env });
    expect(withEnv.config.tasks.concurrency).toBe(5);
    expect(withEnv.config.agents.maxAgents).toBe(12);
    expect(withEnv.config.log.level).toBe('debug');
    expect(withEnv.config.tasks.defaultMaxRetries).toBe(7); // from the file still

    const withOverrides = loadConfig({ projectDir: project, env, overrides: { tasks: { concurrency: 9 }, log: { level: 'silent' } } });
    expect(withOverrides.config.tasks.concurrency).toBe(9);
    expect(withOverrides.config.log.level).toBe('silent');
    expect(withOverrides.config.agents.maxAgents).toBe(12); // from the environment still
    expect(withOverrides.config.tasks.defaultMaxRetries).toBe(7); // from the file still
  });

  it('says where each value came from: the file, an environment variable or an override; absent means default', () => {
    const file = writeConfig('config.yaml', 'tasks:\n  concurrency: 3\n  defaultMaxRetries: 7\nshell:\n  allow: [git]\n');
    const env = { COLONY_CONCURRENCY: '5', COLONY_PORT: '' };
    const { origins } = loadConfig({ projectDir: project, env, overrides: { log: { level: 'silent' } } });
    expect(origins).toEqual({
      'tasks.concurrency': { kind: 'env', variable: 'COLONY_CONCURRENCY' },
      'tasks.defaultMaxRetries': { kind: 'file', file },
      'shell.allow': { kind: 'file', file },
      'log.level': { kind: 'override' },
    });
    // The database moves with the data directory, so it comes from the same place.
    expect(loadConfig({ projectDir: project, env: { COLONY_DATA_DIR: 'state' } }).origins).toEqual({
      dataDir: { kind: 'env', variable: 'COLONY_DATA_DIR' },
      'database.path': { kind: 'env', variable: 'COLONY_DATA_DIR' },
    });
  });

  it('ignores empty environment variables', () => {
    const { config } = loadConfig({ projectDir: project, env: { COLONY_CONCURRENCY: '', COLONY_DB: '' } });
    expect(config.tasks.concurrency).toBe(DEFAULTS.taskConcurrency);
    expect(config.database.path).toBe(join(project, '.colony', 'colony.db'));
  });

  it('resolves a relative database path against the project directory, from any source', () => {
    expect(loadConfig({ projectDir: project, overrides: { database: { path: 'data/x.db' } } }).config.database.path).toBe(join(project, 'data', 'x.db'));
    expect(loadConfig({ projectDir: project, env: { COLONY_DB: 'env.db' } }).config.database.path).toBe(join(project, 'env.db'));
    writeConfig('config.yaml', 'database:\n  path: ./from-file.db\n');
    expect(loadConfig({ projectDir: project }).config.database.path).toBe(join(project, 'from-file.db'));
    // Absolute paths and :memory: are kept as they are.
    expect(loadConfig({ projectDir: project, overrides: { database: { path: '/var/tmp/abs.db' } } }).config.database.path).toBe('/var/tmp/abs.db');
    expect(loadConfig({ projectDir: project, overrides: { database: { path: ':memory:' } } }).config.database.path).toBe(':memory:');
  });

  it('names the database by URL: a sqlite: URL decides the file, and the highest layer naming the database wins', () => {
    const byUrl = loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'sqlite:data/u.db' } }).config.database;
    expect(byUrl).toMatchObject({ url: 'sqlite:data/u.db', path: join(project, 'data', 'u.db') });
    expect(loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'sqlite:///var/tmp/abs.db' } }).config.database.path).toBe('/var/tmp/abs.db');
    expect(loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'sqlite::memory:' } }).config.database.path).toBe(':memory:');
    // A flag naming a file beats a URL from the environment (and the URL no longer applies).
    const flag = loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'sqlite:u.db' }, overrides: { database: { path: 'flag.db' } } }).config.database;
    expect(flag).toMatchObject({ url: null, path: join(project, 'flag.db') });
    // A URL in a higher layer beats a file from a lower one, and a data dir does not move it.
    writeConfig('config.yaml', 'database:\n  path: ./from-file.db\n');
    const env = loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'sqlite:env.db', COLONY_DATA_DIR: '.colony' } }).config.database;
    expect(env.path).toBe(join(project, 'env.db'));
  });

  it('takes a PostgreSQL URL as the database, with pool settings, leaving the SQLite path alone', () => {
    const { database } = loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'postgres://colony@db.internal:5432/team' }, overrides: { database: { poolSize: 20 } } }).config;
    expect(database).toMatchObject({ url: 'postgres://colony@db.internal:5432/team', path: join(project, '.colony', 'colony.db'), poolSize: 20 });
    expect(databaseKind(database)).toBe('postgres');
    expect(databaseKind(loadConfig({ projectDir: project }).config.database)).toBe('sqlite');
    expect(() => loadConfig({ projectDir: project, overrides: { database: { url: 'postgres://' } } })).toThrow(/database\.url/);
  });

  it('refuses a database URL of a kind this build cannot open, naming the key and the kinds it can', () => {
    const attempt = () => loadConfig({ projectDir: project, env: { COLONY_DATABASE_URL: 'mysql://root@localhost/colony' } });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/database\.url.*COLONY_DATABASE_URL|environment.*sqlite:/);
    expect(() => loadConfig({ projectDir: project, overrides: { database: { url: 'sqlite:' } } })).toThrow(/database\.url/);
  });

  it('moves the database with the data directory unless the database path is given', () => {
    const moved = loadConfig({ projectDir: project, overrides: { dataDir: 'state' } }).config;
    expect(moved.dataDir).toBe(join(project, 'state'));
    expect(moved.database.path).toBe(join(project, 'state', DEFAULTS.databaseFile));

    const fromEnv = loadConfig({ projectDir: project, env: { COLONY_DATA_DIR: '/var/tmp/colony-data' } }).config;
    expect(fromEnv.database.path).toBe(join('/var/tmp/colony-data', DEFAULTS.databaseFile));

    const both = loadConfig({ projectDir: project, overrides: { dataDir: 'state', database: { path: 'elsewhere.db' } } }).config;
    expect(both.dataDir).toBe(join(project, 'state'));
    expect(both.database.path).toBe(join(project, 'elsewhere.db'));
  });

  it('finds the config file in a moved data directory', () => {
    writeConfig('config.yaml', 'tasks:\n  concurrency: 4\n', join(project, 'state'));
    writeConfig('config.yaml', 'tasks:\n  concurrency: 2\n'); // in the default .colony: not used
    const { config, file } = loadConfig({ projectDir: project, overrides: { dataDir: 'state' } });
    expect(file).toBe(join(project, 'state', 'config.yaml'));
    expect(config.tasks.concurrency).toBe(4);
  });

  it('reads JSON config files, found or named explicitly', () => {
    const found = writeConfig('config.json', JSON.stringify({ tasks: { concurrency: 6 }, shell: { timeoutMs: 1234 } }));
    const loaded = loadConfig({ projectDir: project });
    expect(loaded.file).toBe(found);
    expect(loaded.config.tasks.concurrency).toBe(6);
    expect(loaded.config.shell.timeoutMs).toBe(1234);

    const explicit = writeConfig('custom.json', JSON.stringify({ agents: { maxAgents: 3 } }), project);
    const fromFlag = loadConfig({ projectDir: project, file: 'custom.json' });
    expect(fromFlag.file).toBe(explicit);
    expect(fromFlag.config.agents.maxAgents).toBe(3);
    expect(fromFlag.config.tasks.concurrency).toBe(DEFAULTS.taskConcurrency); // the found file is not read as well

    const bad = configError({ projectDir: project, file: writeConfig('bad.json', '{ "tasks": ', project) });
    expect(bad.message).toContain('bad.json');
    expect(bad.message).toMatch(/JSON/);
  });

  it('accepts an empty config file', () => {
    writeConfig('config.yaml', '# nothing set yet\n');
    expect(loadConfig({ projectDir: project }).config.tasks.concurrency).toBe(DEFAULTS.taskConcurrency);
  });

  describe('errors name the key and where it came from', () => {
    it('rejects an unknown top-level key', () => {
      const path = writeConfig('config.yaml', 'concurency: 4\n');
      const error = configError({ projectDir: project });
      expect(error.message).toContain('"concurency"');
      expect(error.message).toContain(path);
      expect(error.details).toMatchObject({ key: 'concurency', origin: path });
    });

    it('rejects an unknown nested key', () => {
      const path = writeConfig('config.yaml', 'tasks:\n  concurrency: 4\n  retries: 2\n');
      const error = configError({ projectDir: project });
      expect(error.message).toContain('"tasks.retries"');
      expect(error.message).toContain(path);
      expect(error.details).toMatchObject({ key: 'tasks.retries', origin: path });
    });

    it('rejects an unknown key in overrides, naming them', () => {
      const error = configError({ projectDir: project, overrides: { agents: { max: 3 } } as never });
      expect(error.details).toMatchObject({ key: 'agents.max', origin: 'options' });
    });

    it('rejects a section that is not a mapping', () => {
      const path = writeConfig('config.yaml', 'tasks: 5\n');
      const error = configError({ projectDir: project });
      expect(error.message).toContain('"tasks"');
      expect(error.details).toMatchObject({ key: 'tasks', origin: path });
    });

    it('rejects a wrong type', () => {
      const path = writeConfig('config.yaml', 'tasks:\n  concurrency: "x"\n');
      const error = configError({ projectDir: project });
      expect(error.message).toContain('"tasks.concurrency"');
      expect(error.message).toContain(path);
      expect(error.details).toMatchObject({ key: 'tasks.concurrency', origin: path });
    });

    it('rejects a negative number and a fraction where an integer is wanted', () => {
      const path = writeConfig('config.yaml', 'tasks:\n  retryBaseDelayMs: -5\n');
      const negative = configError({ projectDir: project });
      expect(negative.details).toMatchObject({ key: 'tasks.retryBaseDelayMs', origin: path });

      const fraction = configError({ projectDir: project, file: writeConfig('f.yaml', 'agents:\n  maxAgents: 2.5\n', project) });
      expect(fraction.details).toMatchObject({ key: 'agents.maxAgents' });

      const zero = configError({ projectDir: join(project, 'elsewhere'), overrides: { tasks: { concurrency: 0 } } });
      expect(zero.details).toMatchObject({ key: 'tasks.concurrency', origin: 'options' });
    });

    it('rejects a timeout or interval longer than a timer can wait, and a cache TTL past ten years', () => {
      const path = writeConfig('config.yaml', 'tasks:\n  defaultTimeoutMs: 3600000000\n');
      const timeout = configError({ projectDir: project });
      expect(timeout.details).toMatchObject({ key: 'tasks.defaultTimeoutMs', origin: path });
      expect(timeout.message).toContain('at most 2147483647 ms');
      for (const [section, key, value] of [
        ['shell', 'timeoutMs', 1e12],
        ['tasks', 'pollIntervalMs', 2 ** 31],
        ['tasks', 'drainTimeoutMs', 1e15],
        ['database', 'busyTimeoutMs', 2 ** 40],
        ['memory', 'gcIntervalMs', 2 ** 31],
        ['memory', 'l2TtlMs', 1e13],
        ['server', 'rateLimit', { max: 10, windowMs: 1e10 }],
      ] as const) {
        const error = configError({ projectDir: join(project, 'elsewhere'), overrides: { [section]: { [key]: value } } });
        expect(error.details.key, `${section}.${key}`).toMatch(new RegExp(`^${section}\\.${key}`));
      }
      expect(() => loadConfig({ projectDir: join(project, 'elsewhere'), overrides: { tasks: { defaultTimeoutMs: 2_147_483_647 } } })).not.toThrow();
    });

    it('names the source whose value won, not an earlier one it overrode', () => {
      writeConfig('config.yaml', 'tasks:\n  concurrency: 4\n');
      const fromEnv = configError({ projectDir: project, env: { COLONY_CONCURRENCY: '-1' } });
      expect(fromEnv.details).toMatchObject({ key: 'tasks.concurrency', origin: 'environment' });
      expect(fromEnv.message).toContain('environment');

      const fromOptions = configError({ projectDir: project, env: { COLONY_CONCURRENCY: '2' }, overrides: { tasks: { concurrency: -3 } } });
      expect(fromOptions.details).toMatchObject({ key: 'tasks.concurrency', origin: 'options' });
    });

    it('rejects a malformed environment variable, naming it', () => {
      const error = configError({ projectDir: project, env: { COLONY_CONCURRENCY: 'abc' } });
      expect(error.message).toContain('COLONY_CONCURRENCY');
      expect(error.message).toContain('abc');
      expect(error.details).toMatchObject({ key: 'COLONY_CONCURRENCY' });
      expect(configError({ projectDir: project, env: { COLONY_MAX_AGENTS: '1.5' } }).message).toContain('COLONY_MAX_AGENTS');
    });

    it('rejects a bad log level', () => {
      const error = configError({ projectDir: project, env: { COLONY_LOG_LEVEL: 'loud' } });
      expect(error.message).toContain('"log.level"');
      expect(error.details).toMatchObject({ key: 'log.level', origin: 'environment' });
      const fromFile = writeConfig('config.yaml', 'log:\n  level: verbose\n');
      expect(configError({ projectDir: project }).details).toMatchObject({ key: 'log.level', origin: fromFile });
    });

    it('rejects a file that is not a mapping', () => {
      const path = writeConfig('config.yaml', '- tasks\n- agents\n');
      const error = configError({ projectDir: project });
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/mapping/);
      writeConfig('config.yaml', 'just a string\n');
      expect(configError({ projectDir: project }).message).toMatch(/mapping/);
    });

    it('rejects invalid YAML', () => {
      const path = writeConfig('config.yaml', 'tasks:\n  concurrency: [1, 2\n');
      const error = configError({ projectDir: project });
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/YAML/);
    });

    it('rejects an explicit config file that does not exist', () => {
      const error = configError({ projectDir: project, file: 'missing.yaml' });
      expect(error.message).toContain(join(project, 'missing.yaml'));
      expect(error.message).toMatch(/not found/);
    });
  });
});
