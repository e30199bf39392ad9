// `npm run bench`: runs every benchmark suite (or those named on the command line), prints a table
// per suite and writes bench/results/<suite>.json.
const SUITES = {
  'core-engine': () => import('./core-engine.bench.js'),
  'agent-runtime': () => import('./agent-runtime.bench.js'),
  memory: () => import('./memory.bench.js'),
  api: () => import('./api.bench.js'),
  swarm: () => import('./swarm.bench.js'),
  consensus: () => import('./consensus.bench.js'),
  team: () => import('./team.bench.js'),
  workloads: () => import('./workloads.bench.js'),
  studio: () => import('./studio.bench.js'),
};

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(SUITES)) {
  const load = SUITES[name];
  if (!load) {
    console.error(`unknown bench suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## ${name}\n`);
  await (await load()).run();
}
