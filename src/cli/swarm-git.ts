import { changedLines, type SwarmRecord } from '../domain/swarm.js';
import { color } from './output.js';

/** Files listed by name before the rest are only counted. */
const MAX_FILES_SHOWN = 20;

/**
 * A swarm's git work as lines for `colony swarm` and `colony swarm status`: its branch, what changed
 * from where it started, and any conflict left (empty when the swarm has no repository).
 */
export function swarmGitLines(swarm: SwarmRecord): string[] {
  const config = swarm.config.git ?? null;
  if (config === null) return [];
  const result = swarm.result?.git;
  const short = (sha: string): string => sha.slice(0, 12);
  if (result === undefined) return [`  branch        ${config.branch} from ${short(config.base)}${config.dirty ? color.yellow(' (uncommitted changes of the checkout not included)') : ''}`];
  const { additions: added, deletions: removed } = changedLines(result.files);
  const lines = [
    `  branch        ${result.branch} ${short(result.base)}..${short(result.head)}: ${result.files.length} file${result.files.length === 1 ? '' : 's'} changed, +${added} -${removed}${result.dirty ? color.yellow(' (uncommitted changes of the checkout not included)') : ''}`,
  ];
  for (const file of result.files.slice(0, MAX_FILES_SHOWN)) lines.push(color.dim(`                ${file.path} ${file.additions === null ? 'binary' : `+${file.additions} -${file.deletions}`}`));
  if (result.files.length > MAX_FILES_SHOWN) lines.push(color.dim(`                … and ${result.files.length - MAX_FILES_SHOWN} more`));
  if (result.files.length > 0) lines.push(color.dim(`                see it with \`git diff ${short(result.base)} ${result.branch}\`; take it with \`git merge ${result.branch}\``));
  for (const conflict of result.conflicts) {
    lines.push(color.red(`  conflict      ${conflict.planTaskId} (branch ${conflict.branch}) conflicts in ${conflict.files.join(', ')}`));
  }
  const kept = result.kept.filter((branch) => !result.conflicts.some((c) => c.branch === branch));
  if (kept.length > 0) lines.push(color.dim(`  kept          ${kept.join(', ')}`));
  return lines;
}
