#!/usr/bin/env node
// Makes a machine ready for `npm test` (it runs as the pretest step): the suite drives real parts,
// so it needs Debian's Chromium (the dashboard's browser tests), bubblewrap (the agent shell's OS
// sandbox), a Redis server on 127.0.0.1:6379 (memory's L2 tier) and a PostgreSQL server on
// 127.0.0.1:5432 that lets root in without a password to database `test` (team mode's store; the
// tests create and drop databases of their own there). What is missing is installed (as root, with
// apt-get), started or set up; what cannot be is named in one line, and the run stops there instead
// of failing dozens of tests with less helpful messages.
// COLONY_TEST_NO_INSTALL=1 turns installing and setting up off (it then only checks and starts).
// COLONY_TEST_POSTGRES_URL names another PostgreSQL for the tests: it is then only checked.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';

const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;
const REDIS_START_WAIT_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;
const POSTGRES_HOST = '127.0.0.1';
const POSTGRES_PORT = 5432;
const POSTGRES_USER = 'root';
const POSTGRES_DATABASE = 'test';
const POSTGRES_START_WAIT_MS = 30_000;
const postgresUrl = process.env.COLONY_TEST_POSTGRES_URL ?? `postgres://${POSTGRES_USER}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DATABASE}`;

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const mayInstall = process.env.COLONY_TEST_NO_INSTALL !== '1' && process.getuid?.() === 0 && onPath('apt-get');

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function say(line) {
  process.stderr.write(`test prerequisites: ${line}\n`);
}

/** Debian packages, installed together; the package lists are refreshed only if the first try fails. */
function aptInstall(packages) {
  say(`installing ${packages.join(', ')} (Debian packages) ...`);
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  return install();
}

function redisAnswers() {
  return new Promise((resolve) => {
    const socket = connect({ host: REDIS_HOST, port: REDIS_PORT });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function ensureRedis() {
  if (await redisAnswers()) return true;
  if (!onPath('redis-server') && !(mayInstall && aptInstall(['redis-server']))) return false;
  say(`starting redis-server on ${REDIS_HOST}:${REDIS_PORT} (nothing kept on disk)`);
  mkdirSync('/tmp/colony-test-redis', { recursive: true });
  spawnSync('redis-server', ['--daemonize', 'yes', '--bind', REDIS_HOST, '--port', String(REDIS_PORT), '--save', '', '--appendonly', 'no', '--dir', '/tmp/colony-test-redis'], { stdio: 'ignore' });
  const deadline = Date.now() + REDIS_START_WAIT_MS;
  while (Date.now() < deadline) {
    if (await redisAnswers()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function withoutPassword(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'COLONY_TEST_POSTGRES_URL';
  }
}

/** 'ok', 'down' (nothing answers), or why the server refused: no role, no database, a password wanted. */
async function postgresLogin() {
  let pg;
  try {
    pg = (await import('pg')).default;
  } catch {
    return 'the pg package is not installed (npm install)';
  }
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return 'ok';
  } catch (error) {
    if (['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', '57P03'].includes(error.code) || /timeout/i.test(error.message)) return 'down';
    return error.message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The Debian clusters on this machine (`/etc/postgresql/<version>/main`), newest version first. */
function postgresClusters() {
  if (!existsSync('/etc/postgresql')) return [];
  return readdirSync('/etc/postgresql')
    .filter((version) => existsSync(`/etc/postgresql/${version}/main`))
    .sort((a, b) => Number(b) - Number(a));
}

/** SQL run as the postgres superuser over the local socket (Debian's peer authentication lets it in). */
function asPostgres(sqlText) {
  const run = spawnSync('su', ['postgres', '-c', `psql -X -q -At -v ON_ERROR_STOP=1 -p ${POSTGRES_PORT}`], { input: sqlText, encoding: 'utf8', cwd: '/tmp' });
  return run.status === 0 ? run.stdout.trim() : null;
}

/**
 * A fresh Debian cluster has no role `root`, no database `test`, and asks for passwords on
 * 127.0.0.1: the role (allowed to create the tests' databases) and the database are created, and a
 * trust rule for root on 127.0.0.1 goes first in pg_hba.conf (a test server; nothing else changes).
 */
function setUpPostgresForTests() {
  if (asPostgres('select 1') === null) return false;
  if (asPostgres(`select 1 from pg_roles where rolname = '${POSTGRES_USER}'`) !== '1') {
    say(`creating the PostgreSQL role ${POSTGRES_USER} (may create databases)`);
    if (asPostgres(`create role "${POSTGRES_USER}" login createdb`) === null) return false;
  }
  if (asPostgres(`select 1 from pg_database where datname = '${POSTGRES_DATABASE}'`) !== '1') {
    say(`creating the PostgreSQL database ${POSTGRES_DATABASE}`);
    if (asPostgres(`create database "${POSTGRES_DATABASE}" owner "${POSTGRES_USER}"`) === null) return false;
  }
  const hbaFile = asPostgres('show hba_file');
  if (!hbaFile || !existsSync(hbaFile)) return false;
  const rule = `host all ${POSTGRES_USER} ${POSTGRES_HOST}/32 trust`;
  const hba = readFileSync(hbaFile, 'utf8');
  if (!hba.split('\n').some((line) => line.trim().split(/\s+/).join(' ') === rule)) {
    say(`letting ${POSTGRES_USER} in from ${POSTGRES_HOST} without a password (${hbaFile})`);
    writeFileSync(hbaFile, `# Added by colony's scripts/test-prerequisites.mjs for the test suite.\n${rule}\n${hba}`);
    if (asPostgres('select pg_reload_conf()') === null) return false;
  }
  return true;
}

async function waitForPostgres(until) {
  const deadline = Date.now() + POSTGRES_START_WAIT_MS;
  let state = await postgresLogin();
  while (!until(state) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = await postgresLogin();
  }
  return state;
}

/** Returns null when PostgreSQL is ready for the tests, or what is wrong, in a few words. */
async function ensurePostgres() {
  let state = await postgresLogin();
  if (state === 'ok') return null;
  if (process.env.COLONY_TEST_POSTGRES_URL) return `PostgreSQL at ${withoutPassword(postgresUrl)} (${state})`;
  const isRoot = process.getuid?.() === 0;
  if (state === 'down') {
    if (postgresClusters().length === 0 && !(mayInstall && aptInstall(['postgresql']))) {
      return `PostgreSQL answering on ${POSTGRES_HOST}:${POSTGRES_PORT} (apt-get install postgresql, then start it)`;
    }
    if (!isRoot) return `PostgreSQL answering on ${POSTGRES_HOST}:${POSTGRES_PORT} (start it as root: pg_ctlcluster --skip-systemctl-redirect <version> main start)`;
    for (const version of postgresClusters()) {
      say(`starting PostgreSQL ${version} (cluster main)`);
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
    }
    state = await waitForPostgres((s) => s !== 'down');
    if (state === 'ok') return null;
    if (state === 'down') return `PostgreSQL answering on ${POSTGRES_HOST}:${POSTGRES_PORT} (pg_ctlcluster --skip-systemctl-redirect <version> main start did not bring it up)`;
  }
  if (mayInstall && setUpPostgresForTests()) state = await waitForPostgres((s) => s === 'ok');
  if (state === 'ok') return null;
  return `PostgreSQL on ${POSTGRES_HOST}:${POSTGRES_PORT} letting ${POSTGRES_USER} into database ${POSTGRES_DATABASE} without a password (it says: ${state})`;
}

function bwrapWorks() {
  return onPath('bwrap') && spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', 'true'], { stdio: 'ignore' }).status === 0;
}

const missing = [];
const packages = [];
if (!existsSync(chromiumPath)) packages.push('chromium');
if (!onPath('bwrap')) packages.push('bubblewrap');
// `kubectl kustomize` renders the Kubernetes manifests offline for the deployment tests.
if (!onPath('kubectl')) packages.push('kubernetes-client');
if (packages.length > 0 && mayInstall) aptInstall(packages);

if (!existsSync(chromiumPath)) missing.push(`Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
if (!onPath('kubectl')) missing.push('kubectl (apt-get install kubernetes-client)');
if (!bwrapWorks()) missing.push('a working bubblewrap (apt-get install bubblewrap; it must be able to create namespaces here)');
if (!(await ensureRedis())) missing.push(`Redis answering on ${REDIS_HOST}:${REDIS_PORT} (apt-get install redis-server, then start it)`);
const postgresProblem = await ensurePostgres();
if (postgresProblem !== null) missing.push(postgresProblem);

if (missing.length > 0) {
  say(`npm test needs ${missing.join('; ')}.`);
  process.exit(1);
}
try {
  say(`ready: ${execFileSync(chromiumPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}, bubblewrap, Redis on ${REDIS_HOST}:${REDIS_PORT}, PostgreSQL at ${withoutPassword(postgresUrl)}`);
} catch {
  say(`Chromium at ${chromiumPath} does not run (${chromiumPath} --version failed): reinstall it, or set CHROMIUM_PATH.`);
  process.exit(1);
}
