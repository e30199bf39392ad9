/**
 * The oldest Node.js Colony runs on: it stores everything in `node:sqlite`, which older versions do
 * not have. Checked by the entry points before anything that needs it loads, so that an old Node
 * gets this sentence instead of an ERR_UNKNOWN_BUILTIN_MODULE stack.
 */
export const MIN_NODE_MAJOR = 24;

/** Null on a supported Node; otherwise what to tell the person. */
export function unsupportedNodeMessage(version: string = process.versions.node): string | null {
  const major = Number(version.split('.')[0]);
  return major >= MIN_NODE_MAJOR ? null : `Colony needs Node ${MIN_NODE_MAJOR} or later (this is Node v${version})`;
}
