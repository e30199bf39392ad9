import type { Command } from 'commander';

/**
 * Help text for a parent command whose default subcommand does the work (`colony swarm "<objective>"`
 * runs `swarm start`): the default's usage and options, shown by `colony swarm --help` too, where
 * commander would list only the subcommands.
 */
export function defaultCommandHelp(parent: string, command: Command, argument: string): string {
  const help = command.helpInformation();
  const options = help.split(/^Options:\n/m)[1]?.split(/\n\n/)[0] ?? '';
  return [
    '',
    `colony ${parent} ${argument} [options] is \`colony ${parent} ${command.name()}\`: ${command.description()}`,
    '',
    `Options of colony ${parent} ${argument}:`,
    options.replace(/\n*$/, ''),
  ].join('\n');
}
