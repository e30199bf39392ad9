import { ValidationError } from '../domain/errors.js';

/**
 * Single words that are commands, not objectives: Claude-Flow's swarm verbs, Colony's own and common
 * CLI verbs, each with the command meant. `colony swarm init` would otherwise start a real swarm
 * whose objective is "init", spending tokens on a typo.
 */
const COMMAND_WORDS: Readonly<Record<string, string>> = {
  init: '`colony init` sets up a project',
  setup: '`colony init` sets up a project',
  start: '`colony swarm "<objective>"` starts a swarm',
  create: '`colony swarm "<objective>"` starts a swarm',
  new: '`colony swarm "<objective>"` starts a swarm',
  launch: '`colony swarm "<objective>"` starts a swarm',
  run: '`colony swarm "<objective>"` starts a swarm; `colony run <workflow.yaml>` runs a workflow',
  exec: '`colony swarm "<objective>"` starts a swarm',
  execute: '`colony swarm "<objective>"` starts a swarm',
  orchestrate: '`colony swarm "<objective>"` starts a swarm',
  spawn: '`colony agent spawn <type>` spawns an agent',
  agents: '`colony agent list` lists agents',
  status: '`colony swarm status <id>` shows a swarm',
  show: '`colony swarm status <id>` shows a swarm',
  info: '`colony swarm status <id>` shows a swarm',
  monitor: '`colony swarm status <id>` shows a swarm; `colony up` serves the dashboard',
  logs: '`colony events --correlation <swarm id>` shows a swarm\'s events',
  list: '`colony swarm list` lists swarms',
  ls: '`colony swarm list` lists swarms',
  stop: '`colony swarm stop <id>` stops a swarm',
  kill: '`colony swarm stop <id>` stops a swarm',
  terminate: '`colony swarm stop <id>` stops a swarm',
  destroy: '`colony swarm stop <id>` stops a swarm',
  delete: '`colony swarm stop <id>` stops a swarm',
  remove: '`colony swarm stop <id>` stops a swarm',
  rm: '`colony swarm stop <id>` stops a swarm',
  pause: '`colony swarm pause <id>` pauses a swarm',
  resume: '`colony swarm resume <id>` resumes a swarm',
  scale: '`colony swarm "<objective>" --agents <n>` sets the number of workers',
  config: '`colony config show` shows the configuration',
  version: '`colony --version` prints the version',
  help: '`colony swarm --help` lists the swarm commands and flags',
};

/**
 * Refuses an objective given as words that is one command word (see COMMAND_WORDS), naming the
 * command meant and how to run a swarm on that word anyway (`--objective`, which is never refused).
 */
export function refuseCommandWord(words: readonly string[]): void {
  if (words.length !== 1) return;
  const word = (words[0] as string).trim();
  const meant = COMMAND_WORDS[word.toLowerCase()];
  if (meant === undefined) return;
  throw new ValidationError(`"${word}" is a command, not an objective: ${meant}. To start a swarm whose objective is "${word}", run \`colony swarm --objective ${word}\``, {
    details: { field: 'objective' },
  });
}
