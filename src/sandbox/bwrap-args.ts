import { sep } from 'node:path';

/**
 * The bubblewrap command line that isolates one shell command: the host's filesystem read-only, the
 * workspace read-write (but for what `readOnly` names in it), a private /tmp and HOME, the data directory and other secrets hidden, its own
 * PID, IPC and UTS namespaces (and network namespace unless allowed), no capabilities, and death
 * with its parent. Pure: the caller resolves paths (realpath) and decides what is hidden.
 */

export interface HiddenPath {
  path: string;
  /** A directory is covered by an empty tmpfs, a file by /dev/null. */
  kind: 'directory' | 'file';
}

export interface BwrapSpec {
  /** The workspace, bound read-write at its own path. Absolute and resolved. */
  workspace: string;
  /** Where the command starts; inside the workspace. */
  cwd: string;
  /** Keep the host's network (otherwise the command has only its own loopback). */
  network: boolean;
  /** The server's HOME, replaced by an empty writable tmpfs; null: none to hide. */
  home: string | null;
  /** Paths hidden from the command (existing ones; the caller checks). */
  hide: readonly HiddenPath[];
  /** Paths inside the workspace the command may read but not change (existing ones): git's and Claude Code's configuration. */
  readOnly?: readonly string[];
}

/**
 * Mount options in the order bwrap applies them: later mounts cover earlier ones. /tmp and HOME come
 * before the workspace (which may live under either); hidden paths that contain the workspace come
 * before it too (the workspace stays visible inside them), the rest after it (so `.colony` inside the
 * workspace is hidden).
 */
export function bwrapArgs(spec: BwrapSpec): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  if (spec.home !== null) args.push('--tmpfs', spec.home);
  const containsWorkspace = (path: string): boolean => isWithin(spec.workspace, path);
  const covered = (path: string): boolean => isWithin(path, '/tmp') || (spec.home !== null && isWithin(path, spec.home));
  // What the private /tmp or HOME already covers needs no mount of its own, unless the workspace bind brought it back.
  const hide = spec.hide.filter((h) => !covered(h.path) || isWithin(h.path, spec.workspace));
  for (const h of hide.filter((h) => containsWorkspace(h.path))) args.push(...hideArgs(h));
  args.push('--bind', spec.workspace, spec.workspace);
  for (const h of hide.filter((h) => !containsWorkspace(h.path))) args.push(...hideArgs(h));
  for (const path of spec.readOnly ?? []) if (isWithin(path, spec.workspace) && path !== spec.workspace) args.push('--ro-bind', path, path);
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts');
  if (!spec.network) args.push('--unshare-net');
  args.push('--cap-drop', 'ALL', '--die-with-parent', '--new-session', '--chdir', spec.cwd, '--');
  return args;
}

/** The options the probe runs with: every namespace and mount kind a real command uses. */
export const BWRAP_PROBE_ARGS: readonly string[] = [
  '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp',
  '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--cap-drop', 'ALL', '--die-with-parent', '--new-session',
  '--', 'true',
];

function hideArgs(hidden: HiddenPath): string[] {
  return hidden.kind === 'directory' ? ['--tmpfs', hidden.path] : ['--ro-bind', '/dev/null', hidden.path];
}

/** `path` is `root` or inside it. */
export function isWithin(path: string, root: string): boolean {
  if (root === sep) return true;
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}
