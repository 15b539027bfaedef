// `npm run bench [-- --scenario=<name>[,<name>]] [--quick] [--no-write] [--keep] [--cpu-prof] [--sdk-metrics]
// [--variants=…] [--before=<checkout>] [--own-dev-server] [--repeat=N] [--soak-minutes=N]
// [--topology=dev|prod]`: runs the benchmark
// scenarios (all but those run only on request: `peer`, `soak`) against real services started here (a Temporal
// dev server per scenario, a fresh PostgreSQL database, the fake LLM), prints a table per scenario, and, after a
// full run of every default scenario, rewrites the results section of docs/benchmarks.md and its charts.
// Method: docs/benchmarks.md.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/postgres.js';
import { DEFAULT_SCENARIOS, type Results, SCENARIOS, type ScenarioName } from './scenarios/index.js';
import { type BenchContext, createSecrets } from './support/context.js';
import { machineInfo } from './support/machine.js';
import { printResults, writeReport } from './support/report.js';
import { startBenchLlm, startCallbackReceiver } from './support/services.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const quick = flag('quick');
const selected = (option('scenario')?.split(',') ?? DEFAULT_SCENARIOS) as ScenarioName[];
for (const name of selected) {
  if (!(name in SCENARIOS)) {
    console.error(`unknown scenario ${name}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
}
const topology = option('topology');
if (topology !== undefined && topology !== 'dev' && topology !== 'prod') {
  console.error(`unknown topology ${topology}; choose dev (the default) or prod`);
  process.exit(2);
}
// Complete: every default scenario ran (an on-request one such as peer may come along; it is not in the results
// section, which is generated from the default ones).
const complete = !quick && DEFAULT_SCENARIOS.every((name) => selected.includes(name));
const write = flag('write') || (complete && !flag('no-write'));

const progress = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const machineBefore = await machineInfo(projectRoot);
progress(
  `${machineBefore.cpuModel}, ${machineBefore.cores} cores, load ${machineBefore.loadAverage.join(' ')}${quick ? ' (quick smoke run)' : ''}`,
);
if (!quick && machineBefore.loadAverage[0]! > 1.5) {
  progress(`warning: 1-minute load average is ${machineBefore.loadAverage[0]}; figures will be noisy`);
}

const scratch = await mkdtemp(join(tmpdir(), 'conduit-bench-'));
const database = await createTestDatabase(progress);
const llm = await startBenchLlm();
const receiver = await startCallbackReceiver();
const ctx: BenchContext = {
  projectRoot,
  quick,
  runTag: Date.now().toString(36),
  scratch,
  databaseUrl: database.url,
  llm,
  receiver,
  ...createSecrets(),
  variants: option('variants')?.split(','),
  sdkMetrics: flag('sdk-metrics'),
  devServerArgs: args
    .filter((arg) => arg.startsWith('--dev-server-arg='))
    .map((arg) => arg.slice('--dev-server-arg='.length)),
  ownDevServer: flag('own-dev-server'),
  waitingTuning: option('waiting-tuning') ? JSON.parse(option('waiting-tuning')!) : undefined,
  waitingLevels: option('waiting-levels')?.split(',').map(Number),
  cpuProfileDir: flag('cpu-prof') ? join(projectRoot, 'bench/results/profiles') : undefined,
  beforeRoot: option('before'),
  repeat: option('repeat') ? Number(option('repeat')) : undefined,
  soakMinutes: option('soak-minutes') ? Number(option('soak-minutes')) : undefined,
  soakTopology: topology,
  progress,
};

const results: Results = {};
const failures: string[] = [];
const startedAt = Date.now();
try {
  for (const name of selected) {
    const began = Date.now();
    progress(`scenario ${name}: starting`);
    try {
      // biome-ignore lint/suspicious/noExplicitAny: each scenario's result type is keyed by its name
      (results as any)[name] = await SCENARIOS[name](ctx);
      progress(`scenario ${name}: done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.stack : String(error)}`);
      progress(`scenario ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  await receiver.close();
  await llm.close();
  await database.drop();
  if (flag('keep')) progress(`kept ${scratch} (process logs, data directories)`);
  else await rm(scratch, { recursive: true, force: true });
}

const machine = { ...machineBefore, loadAverageAfter: (await machineInfo(projectRoot)).loadAverage };
const totalSeconds = (Date.now() - startedAt) / 1000;
printResults(results, machine, totalSeconds);
const resultsDir = join(projectRoot, 'bench/results');
await mkdir(resultsDir, { recursive: true });
await writeFile(
  join(resultsDir, quick ? 'last-quick.json' : 'last.json'),
  `${JSON.stringify({ machine, quick, totalSeconds, results, failures }, null, 2)}\n`,
);
if (write && failures.length === 0) {
  await writeReport(projectRoot, results, machine, totalSeconds);
  progress('wrote docs/benchmarks.md');
} else if (write) {
  progress('not writing docs/benchmarks.md: a scenario failed');
}
for (const failure of failures) console.error(`\nFAILED ${failure}`);
process.exit(failures.length ? 1 : 0);
