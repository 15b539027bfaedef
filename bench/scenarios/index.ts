// Every benchmark scenario by name, and the results a run of them gives: bench/run.ts runs them, and
// bench/support/report.ts prints and writes what they measured.
import { baseline } from './baseline.js';
import { e2e } from './e2e.js';
import { faults } from './faults.js';
import { ingress } from './ingress.js';
import { soak } from './soak.js';
import { startup } from './startup.js';
import { waiting } from './waiting.js';

export const SCENARIOS = { startup, ingress, e2e, baseline, waiting, faults, soak } as const;
export type ScenarioName = keyof typeof SCENARIOS;
export type Results = { [K in ScenarioName]?: Awaited<ReturnType<(typeof SCENARIOS)[K]>> };
