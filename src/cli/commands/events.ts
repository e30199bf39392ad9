import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { isoTime, printJson, printTable, truncate } from '../output.js';

export async function eventsCommand(options: GlobalOptions & { type?: string[]; correlation?: string; after?: number; limit: number; newest?: boolean }): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const events = await colony.events.list({ types: options.type, correlationId: options.correlation, afterId: options.after, limit: options.limit, newestFirst: options.newest === true });
    if (options.json) return printJson(events);
    printTable(
      ['ID', 'TIME', 'TYPE', 'SOURCE', 'CORRELATION', 'DATA'],
      events.map((e) => [String(e.id), isoTime(e.timestamp), e.type, e.source, e.correlationId ?? '-', truncate(JSON.stringify(e.data), 70)]),
    );
  }, {}, { mustExist: true });
}
