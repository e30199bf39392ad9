import type { ContentPart } from '../../ports/provider.js';
import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { color, isoTime, printJson, println, truncate } from '../output.js';

/** Characters of a tool result shown per call in the text view (the JSON view has everything). */
const RESULT_PREVIEW = 400;

/** `colony task transcript <id>`: every turn of an agent task, as recorded. */
export async function taskTranscriptCommand(id: string, options: GlobalOptions & { attempt?: number }): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const { task, turns, usage: totals } = await colony.tasks.transcript(id, options.attempt ? { attempt: options.attempt } : {});
      if (options.json) return printJson({ task: { id: task.id, status: task.status, attempts: task.attempts }, usage: totals, turns });
      if (turns.length === 0) {
        println(color.dim(`task ${task.id} has no transcript (only agent tasks have one)`));
        return;
      }
      let attempt = 0;
      for (const t of turns) {
        if (t.attempt !== attempt) {
          attempt = t.attempt;
          println(color.bold(`── attempt ${attempt} ──`));
        }
        const head = `${color.bold(t.role)} ${color.dim(`turn ${t.turn} · ${isoTime(t.createdAt)}${t.usage ? ` · ${t.usage.inputTokens} in / ${t.usage.outputTokens} out` : ''}${t.model ? ` · ${t.provider}/${t.model}` : ''}`)}`;
        println(head);
        for (const part of t.content as ContentPart[]) println(renderPart(part));
        println();
      }
      println(
        color.dim(`${totals.inputTokens} input and ${totals.outputTokens} output tokens · ${totals.costUsd === null ? 'cost unknown' : `$${totals.costUsd.toFixed(4)}`}`),
      );
    },
    {},
    { mustExist: true },
  );
}

function renderPart(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return indent(part.text);
    case 'tool_use':
      return indent(color.cyan(`→ ${part.name}(${truncate(JSON.stringify(part.input), 200)})`));
    case 'tool_result':
      return indent(`${part.isError ? color.red('✗ error: ') : color.green('← ')}${truncate(part.content, RESULT_PREVIEW)}`);
    default:
      return indent(JSON.stringify(part));
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
