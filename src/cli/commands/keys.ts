import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { color, isoTime, printJson, printTable, println } from '../output.js';

/**
 * `colony keys create|list|revoke`: API keys of the REST API. A key is printed once, when created;
 * only its SHA-256 is stored. A running server picks up new and revoked keys at once.
 */
export async function keysCreateCommand(options: GlobalOptions & { role: string; name?: string }): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const { key, record } = await colony.apiKeys.create({ role: options.role, name: options.name });
    if (options.json) return printJson({ ...record, key });
    println(`${color.green('✓')} created ${record.role} key ${record.id} (${record.name})`);
    println('');
    println(`  ${key}`);
    println('');
    println(color.dim('  This is the only time the key is shown: store it now. Send it as "Authorization: Bearer <key>".'));
    println(color.dim(`  Revoke it with \`colony keys revoke ${record.id}\`.`));
  });
}

export async function keysListCommand(options: GlobalOptions & { all?: boolean }): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const keys = await colony.apiKeys.list({ includeRevoked: options.all ?? false });
      if (options.json) return printJson(keys);
      printTable(
        ['ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED', 'REVOKED'],
        keys.map((k) => [k.id, k.name, k.role, isoTime(k.createdAt), isoTime(k.lastUsedAt), k.revokedAt === null ? '-' : color.yellow(isoTime(k.revokedAt))]),
      );
    },
    {},
    { mustExist: true },
  );
}

export async function keysRevokeCommand(id: string, options: GlobalOptions): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const record = await colony.apiKeys.revoke(id);
      if (options.json) return printJson(record);
      println(`${color.green('✓')} revoked key ${record.id} (${record.name}); requests with it are refused from now on`);
    },
    {},
    { mustExist: true },
  );
}
