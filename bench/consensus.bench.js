// Consensus benchmarks: one round of a proposal with 50 and with 1,000 in-process voters answering at
// once (each signs its vote with Ed25519; the engine verifies every signature, screens for Byzantine
// voters, persists the proposal, every vote and the outcome, publishes the events and tallies), and
// a round of 50 LLM voters (agents calling cast_vote) against the fake LLM server in its own process.
import { cpus } from 'node:os';
import { nowMs, report, summarize, withTempColony, startFakeLlmProcess } from './harness.js';

/** Votes at once, signed with the colony's keyring: what an honest in-process voter does. */
function voters(colony, count) {
  return Array.from({ length: count }, (_, i) => {
    const id = `voter-${String(i).padStart(4, '0')}`;
    return {
      id,
      vote: async (ballot) => [
        await colony.consensus.keyring.sign({ proposalId: ballot.proposalId, round: ballot.round, voterId: id, decision: i % 4 === 3 ? 'reject' : 'approve', confidence: 0.9, reason: 'benchmark vote' }),
      ],
    };
  });
}

async function inProcessRounds(count, iterations) {
  return withTempColony({}, async (colony) => {
    const vs = voters(colony, count);
    // Warm-up: keys are created and registered, statements prepared.
    for (let i = 0; i < 3; i++) await colony.consensus.propose({ question: 'warm up', strategy: 'majority' }, vs);
    await colony.events.flush();
    const samples = [];
    // CPU time of the whole process (main thread and thread pool) over the timed rounds and their events.
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) {
      const t0 = nowMs();
      const proposal = await colony.consensus.propose({ question: `round ${i}`, strategy: 'majority' }, vs);
      samples.push(nowMs() - t0);
      if (proposal.status !== 'accepted' || proposal.outcome.rounds[0].votesCounted !== count) throw new Error(`bench round ${i}: ${proposal.status}, ${proposal.outcome?.reason}`);
    }
    await colony.events.flush();
    return { ...summarize(samples), cpuMs: cpuMsSince(cpu0) / iterations };
  });
}

/** Signing and verifying alone, for the same number of votes at once (the floor of a round). */
async function cryptoFloor(count, iterations) {
  const { VoterKeyring, verifyVoteAsync, parsePublicKey } = await import('../dist/consensus/vote-signing.js');
  const keys = new Map();
  const keyring = new VoterKeyring({ store: { putVoterKey: async (id, key) => void keys.set(id, parsePublicKey(key)) }, now: Date.now });
  const bodies = Array.from({ length: count }, (_, i) => ({ proposalId: 'prp_bench', round: 1, voterId: `v${i}`, decision: 'approve', confidence: 0.9, reason: 'benchmark vote' }));
  await Promise.all(bodies.map((b) => keyring.sign(b)));
  const sign = [];
  const verify = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const t0 = nowMs();
    const signed = await Promise.all(bodies.map((b) => keyring.sign(b)));
    const t1 = nowMs();
    const ok = await Promise.all(signed.map((v) => verifyVoteAsync(v, v.signature, keys.get(v.voterId))));
    verify.push(nowMs() - t1);
    sign.push(t1 - t0);
    if (!ok.every(Boolean)) throw new Error('a signature did not verify');
  }
  return { sign: summarize(sign), verify: summarize(verify), cpuMs: cpuMsSince(cpu0) / iterations };
}

/** Milliseconds of CPU (user + system, every thread of the process) since `start`. */
function cpuMsSince(start) {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
}

async function llmRounds(count, iterations) {
  const server = await startFakeLlmProcess(0, 0);
  try {
    const config = {
      agents: { maxAgents: count + 10, defaultProvider: 'anthropic' },
      providers: { anthropic: { baseUrl: server.anthropicBaseUrl, apiKey: 'bench', model: 'fake-model', maxConcurrency: count, maxRetries: 0 } },
    };
    return await withTempColony(config, async (colony) => {
      const agentIds = [];
      for (let i = 0; i < count; i++) agentIds.push((await colony.agents.spawn({ type: 'consensus-voter' })).id);
      for (let i = 0; i < 2; i++) await colony.consensus.ask({ question: 'warm up', agentIds, strategy: 'majority' });
      const samples = [];
      for (let i = 0; i < iterations; i++) {
        const t0 = nowMs();
        const proposal = await colony.consensus.ask({ question: `LLM round ${i}`, agentIds, strategy: 'majority' });
        samples.push(nowMs() - t0);
        if (proposal.outcome.rounds[0].votesCounted !== count) throw new Error(`LLM round ${i}: ${proposal.outcome.rounds[0].votesCounted} of ${count} votes counted`);
      }
      return summarize(samples);
    });
  } finally {
    await server.close();
  }
}

const fmtMs = (s) => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, n=${s.n}`;

export async function run() {
  const rows = [];
  const fifty = await inProcessRounds(50, Number(process.env.BENCH_CONSENSUS_ROUNDS ?? 300));
  rows.push({ name: 'consensus round, 50 in-process voters (p50)', value: fifty.p50, unit: 'ms', target: '< 5 ms', detail: `${fmtMs(fifty)}; sign + verify + persist proposal, 50 votes, outcome + events + tally` });
  rows.push({ name: 'consensus round, 50 in-process voters (p99)', value: fifty.p99, unit: 'ms', target: '', detail: '' });
  const floor50 = await cryptoFloor(50, 200);
  rows.push({ name: '  of which: sign 50 votes (Ed25519, thread pool)', value: floor50.sign.p50, unit: 'ms', target: '', detail: fmtMs(floor50.sign) });
  rows.push({ name: '  of which: verify 50 votes (Ed25519, thread pool)', value: floor50.verify.p50, unit: 'ms', target: '', detail: fmtMs(floor50.verify) });
  // The wall time of a round is at least its CPU time spread over the cores: this says how far the target is from that floor.
  rows.push({ name: 'consensus round, 50 in-process voters: CPU per round', value: fifty.cpuMs, unit: 'ms', target: '', detail: `user + system, all threads, mean of ${fifty.n} rounds; ${cpus().length} cores` });
  rows.push({ name: '  of which: CPU to sign + verify 50 votes (Ed25519)', value: floor50.cpuMs, unit: 'ms', target: '', detail: `mean of ${floor50.sign.n} rounds of signing then verifying` });
  const thousand = await inProcessRounds(1_000, Number(process.env.BENCH_CONSENSUS_BIG_ROUNDS ?? 30));
  rows.push({ name: 'consensus round, 1,000 in-process voters (p50)', value: thousand.p50, unit: 'ms', target: '', detail: fmtMs(thousand) });
  rows.push({ name: 'consensus round, 1,000 in-process voters (p99)', value: thousand.p99, unit: 'ms', target: '', detail: '' });
  const floor1000 = await cryptoFloor(1_000, 20);
  rows.push({ name: '  of which: sign + verify 1,000 votes', value: floor1000.sign.p50 + floor1000.verify.p50, unit: 'ms', target: '', detail: `sign ${fmtMs(floor1000.sign)}; verify ${fmtMs(floor1000.verify)}` });
  const llm = await llmRounds(50, Number(process.env.BENCH_CONSENSUS_LLM_ROUNDS ?? 20));
  rows.push({
    name: 'consensus round, 50 LLM voters over HTTP (p50)',
    value: llm.p50,
    unit: 'ms',
    target: 'seed: 2.3 s',
    detail: `${fmtMs(llm)}; 50 agents call cast_vote on the fake Anthropic server (own process, answering at once)`,
  });
  rows.push({ name: 'consensus round, 50 LLM voters over HTTP (p99)', value: llm.p99, unit: 'ms', target: '', detail: '' });
  report('consensus', rows);
  return rows;
}
