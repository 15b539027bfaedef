// Every benchmark scenario by name, and the results a run of them gives: bench/run.ts runs them, and
// bench/support/report.ts prints and writes what they measured.
import { ackBusy } from './ack-busy.js';
import { baseline } from './baseline.js';
import { e2e } from './e2e.js';
import { faults } from './faults.js';
import { ingress } from './ingress.js';
import { peer } from './peer.js';
import { soak } from './soak.js';
import { startup } from './startup.js';
import { topologies } from './topologies.js';
import { waiting } from './waiting.js';

export const SCENARIOS = {
  startup,
  ingress,
  'ack-busy': ackBusy,
  e2e,
  baseline,
  waiting,
  faults,
  topologies,
  peer,
  soak,
} as const;
export type ScenarioName = keyof typeof SCENARIOS;
export type Results = { [K in ScenarioName]?: Awaited<ReturnType<(typeof SCENARIOS)[K]>> };

/**
 * Run only when named with --scenario: `peer` installs n8n and a newer Node into bench/.peer on first use
 * (several minutes, hundreds of MiB), which a plain `npm run bench` must not do behind anyone's back; `soak`
 * takes 30 minutes by itself.
 */
export const ON_REQUEST: readonly ScenarioName[] = ['peer', 'soak'];
/** What a plain `npm run bench` runs; running all of these (without --quick) is a full run that may rewrite the results. */
export const DEFAULT_SCENARIOS = (Object.keys(SCENARIOS) as ScenarioName[]).filter(
  (name) => !ON_REQUEST.includes(name),
);
