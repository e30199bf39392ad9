import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/domain/errors.js';
import type { Logger } from '../src/kernel/logger.js';
import type { BwrapProbe } from '../src/sandbox/bwrap-probe.js';
import { CommandSandbox, type SandboxStatus } from '../src/sandbox/command-sandbox.js';
import { SANDBOX_DEFAULT_CONFIG } from '../src/sandbox/sandbox-config.js';
import { tempColony, type TempColony } from './support/temp-colony.js';

/**
 * bubblewrap is probed when something needs to know (a command, a status query), not when a colony
 * starts: a program whose agents run no command never starts the probe's processes. `sandbox.mode:
 * bwrap` still refuses to start without it, and running unconfined is still said, once.
 */

const MISSING_BWRAP = '/nonexistent/bwrap';

/** A logger whose warnings the test reads. */
function capturingLogger(): { logger: Logger; warnings: () => string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  return { logger, warnings: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

/** An in-process model that answers at once through report_result. */
const reporter = {
  id: 'inproc',
  async complete(request: { model: string }) {
    return {
      id: 'r1',
      model: request.model,
      content: [{ type: 'tool_use' as const, id: 'c1', name: 'report_result', input: { result: 'done' } }],
      stopReason: 'tool_use' as const,
      usage: { inputTokens: 1, outputTokens: 1 },
    };
  },
};

let temp: TempColony | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe('CommandSandbox', () => {
  it('probes on the first status query only, and tells onDetected once', async () => {
    let probes = 0;
    const seen: SandboxStatus[] = [];
    const sandbox = new CommandSandbox({
      config: { ...SANDBOX_DEFAULT_CONFIG, mode: 'auto' },
      env: {},
      probe: async (): Promise<BwrapProbe> => {
        probes++;
        return { ok: false, reason: 'no bwrap in this test' };
      },
      onDetected: (status) => seen.push(status),
    });
    expect(sandbox.detected()).toBeNull();
    expect(probes).toBe(0);
    const [first, second] = await Promise.all([sandbox.status(), sandbox.status()]);
    expect(await sandbox.status()).toBe(first);
    expect(second).toBe(first);
    expect(await sandbox.detected()).toBe(first);
    expect(probes).toBe(process.platform === 'linux' ? 1 : 0);
    expect(seen).toEqual([first]);
    expect(first).toMatchObject({ mode: 'auto', isolation: 'none', degraded: true });
  });
});

describe.runIf(process.platform === 'linux')('a colony and the bubblewrap probe', { timeout: 60_000 }, () => {
  it('auto mode: starting and an agent without the shell probe nothing; a shell task probes, and the warning follows once', async () => {
    const { logger, warnings } = capturingLogger();
    temp = await tempColony({ sandbox: { mode: 'auto', bwrapPath: MISSING_BWRAP } }, { env: {}, logger });
    const { colony } = temp;
    colony.providers.register(reporter, { id: 'inproc', model: 'm', default: true });
    colony.agentTypes.register({ name: 'reporter', description: 'Reports.', systemPrompt: 'Report done.', tools: ['report_result'] });

    const [agentTask] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Report.', agentType: 'reporter', provider: 'inproc' } }]);
    await colony.start();
    const [agentDone] = await colony.tasks.waitFor([agentTask!.id]);
    expect(agentDone!.status).toBe('completed');
    expect(agentDone!.result).toMatchObject({ result: 'done', agentType: 'reporter' });
    // No shell, so no record of how its (absent) commands would run, and no probe yet.
    expect(agentDone!.result).not.toHaveProperty('sandbox');
    expect(colony.sandbox.detected()).toBeNull();
    expect(warnings().filter((msg) => msg.startsWith('NO OS SANDBOX'))).toEqual([]);

    const [shellTask] = await colony.tasks.submit([{ type: 'shell', input: { command: 'echo ran' } }]);
    const [shellDone] = await colony.tasks.waitFor([shellTask!.id]);
    expect(shellDone!.status).toBe('completed');
    expect(shellDone!.result).toMatchObject({ sandbox: { isolation: 'none', reason: expect.stringContaining(`${MISSING_BWRAP} not found`) } });
    expect(await colony.sandbox.detected()).toMatchObject({ mode: 'auto', isolation: 'none', degraded: true });
    expect((await colony.sandbox.status()).reason).toContain('not found');
    expect(warnings().filter((msg) => msg.startsWith('NO OS SANDBOX'))).toHaveLength(1);
  });

  it('an agent type with the shell still records where its commands run', async () => {
    temp = await tempColony({ sandbox: { mode: 'auto', bwrapPath: MISSING_BWRAP } }, { env: {} });
    const { colony } = temp;
    colony.providers.register(reporter, { id: 'inproc', model: 'm', default: true });
    colony.agentTypes.register({ name: 'sheller', description: 'Has the shell.', systemPrompt: 'Report done.', tools: ['Bash'] });
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Report.', agentType: 'sheller', provider: 'inproc' } }]);
    await colony.start();
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done!.status).toBe('completed');
    expect(done!.result).toMatchObject({ sandbox: { isolation: 'none', reason: expect.stringContaining(`${MISSING_BWRAP} not found`) } });
  });

  it('bwrap mode still refuses to start without bubblewrap; off mode says so at start', async () => {
    temp = await tempColony({ sandbox: { mode: 'bwrap', bwrapPath: MISSING_BWRAP } }, { env: {} });
    await expect(temp.colony.start()).rejects.toThrow(ConfigError);
    await expect(temp.colony.start()).rejects.toThrow(/sandbox\.mode is bwrap, but .*not found/);
    await temp.cleanup();

    const { logger, warnings } = capturingLogger();
    temp = await tempColony({ sandbox: { mode: 'off' } }, { env: {}, logger });
    await temp.colony.start();
    expect(warnings().filter((msg) => msg.startsWith('NO OS SANDBOX'))).toHaveLength(1);
  });
});
