import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freePort } from './free-port.js';

/**
 * A PostgreSQL server of a test's own, for what must never be done to the shared one at
 * 127.0.0.1:5432 (a restart, a crash): a fresh cluster in a temporary directory, on an ephemeral port
 * of 127.0.0.1, trust authentication, its unix socket in that directory. Debian's `postgresql`
 * package provides the binaries (`scripts/test-prerequisites.mjs` installs it where it is missing);
 * as root, initdb and pg_ctl run as the `postgres` user, which that package creates.
 *
 * The server is always stopped and its directory removed: by `cleanup()` (the `usePrivatePostgres`
 * afterAll calls it), by an exit hook if the test process ends first, and, for a test process that
 * was killed, by the next call on this host (a directory carries the pid that made it).
 */

/** Where Debian puts each major version's binaries: `/usr/lib/postgresql/<major>/bin`. */
const DEBIAN_BIN_ROOT = '/usr/lib/postgresql';
/** The version the project is tested on (Debian 12's); another installed one is used when it is missing. */
const PREFERRED_MAJOR = '15';
const DIR_PREFIX = 'colony-private-pg-';
/** pg_ctl's own wait for a start or stop (`-t`): crash recovery after an immediate stop is part of a start. */
const PG_CTL_WAIT_SECONDS = 60;
/** A port picked free may be taken before the server binds it: tried again on another. */
const START_ATTEMPTS = 3;
const KILL_WAIT_MS = 10_000;
const POLL_MS = 25;
const SUPERUSER = 'postgres';
const DATABASE = 'colony';

export interface PrivatePostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/colony`: a database created empty for the test. */
  readonly url: string;
  /** The temporary directory: the cluster in `data/`, the server log in `server.log`, the socket. */
  readonly dir: string;
  /** Whether the server is up, as far as this helper knows (start, stop and kill change it). */
  readonly running: boolean;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** `pg_ctl stop`: `fast` ends sessions and checkpoints; `immediate` is a crash (recovery at the next start). */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl restart -m <mode>`. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** SIGKILL to the postmaster, then waits for its backends to go: a crash without any shutdown. */
  kill(): Promise<void>;
  /** Creates an empty database on the server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops the server (immediately) and removes its directory. Idempotent; never throws. */
  cleanup(): Promise<void>;
}

/** A private server for the calling file's tests, stopped and removed after them (an afterAll). */
export function usePrivatePostgres(): () => Promise<PrivatePostgres> {
  let started: Promise<PrivatePostgres> | undefined;
  afterAll(async () => {
    const server = await started?.catch(() => undefined);
    await server?.cleanup();
  });
  return () => (started ??= startPrivatePostgres());
}

const live = new Set<Cluster>();
let exitHookInstalled = false;
let swept = false;

/** Initialises a cluster in a new temporary directory and starts it; see PrivatePostgres. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (!swept) {
    swept = true;
    removeLeftovers(bin);
  }
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const cluster = new Cluster(bin, dir);
  live.add(cluster);
  try {
    await cluster.init();
    return cluster;
  } catch (error) {
    await cluster.cleanup();
    throw error;
  }
}

class Cluster implements PrivatePostgres {
  port = 0;
  running = false;
  readonly dir: string;
  private readonly bin: string;
  private readonly data: string;
  private readonly logFile: string;
  private cleaned: Promise<void> | undefined;

  constructor(bin: string, dir: string) {
    this.bin = bin;
    this.dir = dir;
    this.data = join(dir, 'data');
    this.logFile = join(dir, 'server.log');
  }

  get url(): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${DATABASE}`;
  }

  async init(): Promise<void> {
    const owner = serverUser();
    // The postgres user owns the directory (initdb and the server write there); 0700, as PostgreSQL requires of its data.
    chmodSync(this.dir, 0o700);
    if (owner) chownSync(this.dir, owner.uid, owner.gid);
    await this.run('initdb', ['-D', this.data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      this.configure();
      try {
        await this.start();
        break;
      } catch (error) {
        if (attempt >= START_ATTEMPTS || !/could not bind|Address already in use/i.test(this.log())) throw error;
      }
    }
    await this.admin(`create database ${DATABASE}`);
  }

  async start(): Promise<void> {
    try {
      await this.run('pg_ctl', ['start', '-D', this.data, '-l', this.logFile, '-w', '-t', String(PG_CTL_WAIT_SECONDS)]);
    } catch (error) {
      throw new Error(`the private PostgreSQL did not start: ${(error as Error).message}\n${this.log().slice(-2_000)}`, { cause: error });
    }
    this.running = true;
  }

  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.run('pg_ctl', ['stop', '-D', this.data, '-m', mode, '-w', '-t', String(PG_CTL_WAIT_SECONDS)]);
    this.running = false;
  }

  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.running = false;
    await this.run('pg_ctl', ['restart', '-D', this.data, '-l', this.logFile, '-m', mode, '-w', '-t', String(PG_CTL_WAIT_SECONDS)]);
    this.running = true;
  }

  async kill(): Promise<void> {
    const pid = postmasterPid(this.data);
    if (pid === undefined) return;
    const children = childPids(pid);
    process.kill(pid, 'SIGKILL');
    this.running = false;
    // Backends notice their postmaster's death and exit; a new postmaster refuses to start while they hold its shared memory.
    const deadline = Date.now() + KILL_WAIT_MS;
    while ([pid, ...children].some(alive) && Date.now() < deadline) await new Promise((done) => setTimeout(done, POLL_MS));
  }

  async createDatabase(name: string): Promise<string> {
    await this.admin(`create database "${name.replaceAll('"', '""')}"`);
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${encodeURIComponent(name)}`;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      live.delete(this);
      stopNow(this.bin, this.data);
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.cleaned;
  }

  /** Settings that survive stops and restarts: appended to postgresql.conf (the last setting wins). */
  private configure(): void {
    const settings = [
      `port = ${this.port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${this.dir}'`,
      // The machine does not crash under a test: an immediate stop keeps what the OS has been handed.
      'fsync = off',
      'full_page_writes = off',
      'max_connections = 100',
      'shared_buffers = 32MB',
    ];
    const file = join(this.data, 'postgresql.conf');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n# colony test/support/private-postgres.ts\n${settings.join('\n')}\n`);
  }

  private async admin(sqlText: string): Promise<void> {
    const client = new pg.Client({ host: '127.0.0.1', port: this.port, user: SUPERUSER, database: 'postgres' });
    await client.connect();
    try {
      await client.query(sqlText);
    } finally {
      await client.end();
    }
  }

  /** Asynchronous, so that the test's own pollers go on while the server stops and starts. */
  private run(tool: string, args: string[]): Promise<void> {
    const [file, argv] = asServerUser(join(this.bin, tool), args);
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (data: Buffer) => (output += data.toString()));
      child.stderr.on('data', (data: Buffer) => (output += data.toString()));
      child.once('error', reject);
      child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${tool} ${args.join(' ')} failed (${code ?? signal}): ${output}`))));
    });
  }
}

/** `<root>/<major>/bin`, the preferred major first, else the newest with initdb; COLONY_TEST_POSTGRES_BIN overrides. */
export function postgresBinDir(): string {
  const override = process.env.COLONY_TEST_POSTGRES_BIN;
  if (override) return override;
  const majors = existsSync(DEBIAN_BIN_ROOT) ? readdirSync(DEBIAN_BIN_ROOT).filter((v) => existsSync(join(DEBIAN_BIN_ROOT, v, 'bin', 'initdb'))) : [];
  if (majors.length === 0) {
    throw new Error(`no PostgreSQL server binaries under ${DEBIAN_BIN_ROOT}/<version>/bin: apt-get install postgresql (or set COLONY_TEST_POSTGRES_BIN)`);
  }
  const major = majors.includes(PREFERRED_MAJOR) ? PREFERRED_MAJOR : majors.sort((a, b) => Number(b) - Number(a))[0];
  return join(DEBIAN_BIN_ROOT, major as string, 'bin');
}

/** PostgreSQL refuses to run as root: as root, its tools run as `postgres`; otherwise as this user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim()) };
  } catch {
    throw new Error(`running as root, the private PostgreSQL needs the system user ${SUPERUSER} (Debian's postgresql package creates it)`);
  }
}

function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', SUPERUSER, '--', command, ...args]] : [command, args];
}

/** Synchronous, for cleanups (an exit hook cannot wait). */
function runAsServerUser(command: string, args: string[]): void {
  const [file, argv] = asServerUser(command, args);
  // cwd: a directory the postgres user may enter (it warns, or fails, in root's).
  const result = spawnSync(file, argv, { cwd: '/', encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
}

/** Stops a cluster at once if it runs; never throws (a cleanup). */
function stopNow(bin: string, data: string): void {
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  try {
    runAsServerUser(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w', '-t', String(PG_CTL_WAIT_SECONDS)]);
  } catch {
    const pid = postmasterPid(data);
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/** Clusters left by test processes of this host that are gone (killed before their cleanup ran). */
function removeLeftovers(bin: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const pid = Number(name.slice(DIR_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    const dir = join(tmpdir(), name);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
    stopNow(bin, join(dir, 'data'));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A test process that ends without its afterAll (an uncaught error, process.exit) still stops its servers. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const cluster of live) {
      stopNow(postgresBinDir(), join(cluster.dir, 'data'));
      rmSync(cluster.dir, { recursive: true, force: true });
    }
  });
}

function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The direct children of `pid`, from /proc (the postmaster's backends and workers). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the fields after the last `)` are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
