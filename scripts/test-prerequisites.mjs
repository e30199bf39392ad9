#!/usr/bin/env node
// Makes a machine ready for `npm test` (it runs as the pretest step): the suite drives real parts,
// so it needs Debian's Chromium (the dashboard's browser tests), bubblewrap (the agent shell's OS
// sandbox) and a Redis server on 127.0.0.1:6379 (memory's L2 tier). What is missing is installed
// (as root, with apt-get) or started; what cannot be is named in one line, and the run stops there
// instead of failing dozens of tests with less helpful messages.
// COLONY_TEST_NO_INSTALL=1 turns installing off (it then only checks).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';

const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;
const REDIS_START_WAIT_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;

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

function bwrapWorks() {
  return onPath('bwrap') && spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', 'true'], { stdio: 'ignore' }).status === 0;
}

const missing = [];
const packages = [];
if (!existsSync(chromiumPath)) packages.push('chromium');
if (!onPath('bwrap')) packages.push('bubblewrap');
if (packages.length > 0 && mayInstall) aptInstall(packages);

if (!existsSync(chromiumPath)) missing.push(`Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
if (!bwrapWorks()) missing.push('a working bubblewrap (apt-get install bubblewrap; it must be able to create namespaces here)');
if (!(await ensureRedis())) missing.push(`Redis answering on ${REDIS_HOST}:${REDIS_PORT} (apt-get install redis-server, then start it)`);

if (missing.length > 0) {
  say(`npm test needs ${missing.join('; ')}.`);
  process.exit(1);
}
try {
  say(`ready: ${execFileSync(chromiumPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}, bubblewrap, Redis on ${REDIS_HOST}:${REDIS_PORT}`);
} catch {
  say(`Chromium at ${chromiumPath} does not run (${chromiumPath} --version failed): reinstall it, or set CHROMIUM_PATH.`);
  process.exit(1);
}
