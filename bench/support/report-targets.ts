// Issue 12's targets, each read from the run's results with its verdict. Figures of e2e variants are medians over
// the rounds the run made of them (three in a default `npm run bench`), as the issue asks.
import type { VariantResult } from '../scenarios/e2e.js';
import type { Results } from '../scenarios/index.js';
import { median, ms, num } from './stats.js';

export interface Target {
  target: string;
  measured: string;
  verdict: 'met' | 'missed' | 'measured' | 'not run';
  note?: string;
}

/** CPU per completed run of the burst, all processes that do the run's work (API, worker, Temporal, PostgreSQL). */
export function cpuPerRun(variant: VariantResult): number {
  const cpu = variant.saturation.cpuMsPerRun;
  return (cpu.api ?? 0) + (cpu.worker ?? 0) + (cpu.temporal ?? 0) + (cpu.postgres ?? 0);
}

const mib = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${Math.round(value)} MiB`;

/** `at most` targets are met at or below the bound, `at least` ones at or above it. */
function judge(
  target: string,
  value: number | undefined,
  bound: number,
  direction: 'at most' | 'at least',
  show: (value: number) => string,
  detail?: string,
): Target {
  if (value === undefined || !Number.isFinite(value)) return { target, measured: 'n/a', verdict: 'not run' };
  const met = direction === 'at most' ? value <= bound : value >= bound;
  const factor = direction === 'at most' ? value / bound : bound / value;
  return {
    target,
    measured: `${show(value)}${detail ? ` (${detail})` : ''}`,
    verdict: met ? 'met' : 'missed',
    note: met ? undefined : `×${num(factor)} from the target`,
  };
}

export function targets(results: Results): Target[] {
  const variants = results.e2e?.variants ?? [];
  const of = (name: string) => variants.filter((v) => v.name === name);
  const rounds = (name: string) => {
    const count = of(name).length;
    return count > 1 ? `median of ${count} rounds` : count === 1 ? 'one round' : undefined;
  };
  const sixStep = of('default');
  const command = of('command');
  const perRound = (list: VariantResult[], read: (v: VariantResult) => number | undefined) =>
    list.map(read).filter((value): value is number => value !== undefined && Number.isFinite(value));
  const spread = (list: VariantResult[], read: (v: VariantResult) => number | undefined, digits = 1) =>
    list.length > 1
      ? `${perRound(list, read)
          .map((value) => num(value, digits))
          .join(', ')}; ${rounds(list[0]!.name)}`
      : rounds(list[0]?.name ?? '');
  const list: Target[] = [
    judge(
      'CPU per six-step run, all processes ≤ 50 ms',
      median(sixStep.map(cpuPerRun)),
      50,
      'at most',
      (value) => `${num(value)} ms`,
      spread(sixStep, cpuPerRun, 0),
    ),
    judge(
      'Completed six-step runs/s at saturation (dev server) ≥ 40',
      median(sixStep.map((v) => v.saturation.overallPerSecond)),
      40,
      'at least',
      (value) => `${num(value)} runs/s`,
      spread(sixStep, (v) => v.saturation.overallPerSecond),
    ),
    judge(
      'Completed command runs/s (`/echo`, reply by callback) ≥ 60',
      median(command.map((v) => v.saturation.overallPerSecond)),
      60,
      'at least',
      (value) => `${num(value)} runs/s`,
      spread(command, (v) => v.saturation.overallPerSecond),
    ),
    judge(
      '`/echo` reply p50 via `?wait` at 10 msg/s ≤ 30 ms',
      median(command.map((v) => v.wait?.latency.p50)),
      30,
      'at most',
      (value) => `${ms(value)} ms`,
      spread(command, (v) => v.wait?.latency.p50, 0),
    ),
    judge(
      'Six-step orchestration overhead p50 at 10 msg/s ≤ 100 ms',
      median(sixStep.map((v) => v.latency.overhead.p50)),
      100,
      'at most',
      (value) => `${ms(value)} ms`,
      spread(sixStep, (v) => v.latency.overhead.p50, 0),
    ),
    judge(
      'Six-step orchestration overhead p99 at 10 msg/s ≤ 200 ms',
      median(sixStep.map((v) => v.latency.overhead.p99)),
      200,
      'at most',
      (value) => `${ms(value)} ms`,
      spread(sixStep, (v) => v.latency.overhead.p99, 0),
    ),
  ];
  // `npm start` as a newcomer runs it (PGlite), its worker kept busy by six-step runs (bench/scenarios/ack-busy.ts).
  const busy = results['ack-busy']?.medians.find((row) => row.variant === 'pglite' && row.rate === 200);
  list.push(
    judge(
      'Webhook ack p99 at 200 msg/s, worker busy in the same `npm start` < 50 ms',
      busy?.p99,
      50,
      'at most',
      (value) => `${ms(value)} ms`,
      busy ? `rounds ${busy.p99s.map((value) => ms(value)).join(', ')}` : undefined,
    ),
  );
  const parked = results.waiting?.levels.find((level) => level.runs === 10_000);
  list.push(
    judge(
      '10,000 parked reminders, worker RSS < 400 MiB',
      parked?.workerRssMiB,
      400,
      'at most',
      (value) => mib(value),
      parked ? `peak ${mib(parked.workerPeakRssMiB)}` : undefined,
    ),
  );
  const cold = results.startup?.coldStartPlatformMs;
  list.push(
    judge(
      'Cold start to ready < 5 s (startPlatform, CLI built)',
      cold,
      5000,
      'at most',
      (value) =>
        `${(value / 1000).toFixed(1)} s${results.startup?.restartStartPlatformMs ? `; restart ${(results.startup.restartStartPlatformMs / 1000).toFixed(1)} s` : ''}`,
    ),
  );
  return list;
}
