import { readdir, readFile } from 'node:fs/promises';

/**
 * Process-group helpers for runShell. A command runs as the leader of its own group (spawned
 * detached), so one signal to `-pgid` reaches every process it started, however deep, unless a
 * process deliberately left the group (setsid); nothing short of a container or cgroup catches those.
 */

/**
 * Sends `signal` to every process of the group. Returns false when the group no longer exists. Never
 * throws: it runs from timers, where a throw would crash the host; EPERM (a member changed user)
 * counts as "still exists" so that callers keep waiting rather than assume it is gone.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether the group still has a process that is running. kill(-pgid, 0) also succeeds for zombies,
 * and a zombie whose parent died waits for PID 1 to reap it, which some container inits never do; so
 * on Linux, when kill says "exists", /proc is consulted to ignore members that are already dead.
 */
export async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = await readdir('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readProcStat(pid);
    if (stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

/**
 * When a running process started, as the OS counts it: on Linux, field 22 of /proc/<pid>/stat (clock
 * ticks since boot), which together with the pid names one process for good, even after the pid is
 * reused. Null when there is no such running process (or it is a zombie), or off Linux.
 */
export async function processStartTime(pid: number): Promise<string | null> {
  if (process.platform !== 'linux') return null;
  const stat = await readProcStat(String(pid));
  return stat === undefined || stat.state === 'Z' || stat.state === 'X' ? null : stat.startTime;
}

/** Index of starttime (field 22) among the fields after comm, which start at field 3 (state). */
const START_TIME_FIELD = 22 - 3;

async function readProcStat(pid: string): Promise<{ state: string; pgrp: number; startTime: string } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // the process ended between readdir and here
  }
  // "pid (comm) state ppid pgrp ...": comm may itself contain spaces and parentheses, so cut at the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  const startTime = fields[START_TIME_FIELD];
  return state === undefined || startTime === undefined || !Number.isInteger(pgrp) ? undefined : { state, pgrp, startTime };
}
