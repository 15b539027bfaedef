// The topologies scenario's tables, for the console and for the results section of docs/benchmarks.md: the
// dev-server and the production topology side by side, each figure the median over the rounds (every round's
// value in brackets when there was more than one).
import type { CpuPerUnit, CpuRole, TopologiesResult, TopologyName, TopologyRun } from '../scenarios/topologies.js';
import { median, ms, num } from './stats.js';
import { markdownTable, type Row, textTable } from './tables.js';

const TOPOLOGIES: readonly TopologyName[] = ['dev-server', 'production'];
const ROLES: readonly CpuRole[] = [
  'API',
  'worker',
  'Temporal',
  'PostgreSQL (Conduit)',
  'PostgreSQL (Temporal)',
  'nginx',
  'MinIO',
];

type Pick = (run: TopologyRun) => number | undefined;
type Format = (value: number) => string;

interface Figure {
  label: string;
  pick: Pick;
  format: Format;
  /** Show production ÷ dev server. */
  ratio?: boolean;
}

function runsOf(result: TopologiesResult, topology: TopologyName): TopologyRun[] {
  return result.runs.filter((run) => run.topology === topology).sort((a, b) => a.round - b.round);
}

function valuesOf(result: TopologiesResult, topology: TopologyName, pick: Pick): number[] {
  return runsOf(result, topology).map((run) => pick(run) ?? Number.NaN);
}

function cell(values: number[], format: Format, rounds = true): string {
  const middle = median(values);
  if (!Number.isFinite(middle)) return 'n/a';
  const show = (value: number) => (Number.isFinite(value) ? format(value) : 'n/a');
  return rounds && values.length > 1 ? `${show(middle)} (${values.map(show).join(', ')})` : show(middle);
}

const times = (value: number) => (Number.isFinite(value) ? `×${value.toFixed(2)}` : '');
const cpu = (value: number) => num(value);
const cpuRole = (role: CpuRole) => (run: TopologyRun, phase: (r: TopologyRun) => CpuPerUnit) => {
  const share = phase(run);
  if (role.startsWith('PostgreSQL') && !share.postgresKnown) return undefined;
  return share.byRole[role];
};

/** What each topology ran, from its first run: `2 API, 2 worker, …`. */
function processesOf(result: TopologiesResult, topology: TopologyName): string {
  const run = runsOf(result, topology)[0];
  if (!run) return 'not run';
  return Object.entries(run.processes)
    .map(([role, count]) => `${count} ${role}${count > 1 ? 's' : ''}`)
    .join(', ');
}

function cpuFigures(title: string, phase: (run: TopologyRun) => CpuPerUnit, result: TopologiesResult): Figure[] {
  const present = ROLES.filter((role) => result.runs.some((run) => (phase(run).byRole[role] ?? 0) > 0));
  return [
    { label: `${title}: CPU ms per run, all processes`, pick: (run) => phase(run).total, format: cpu, ratio: true },
    ...present.map((role) => ({
      label: `… ${role}`,
      pick: (run: TopologyRun) => cpuRole(role)(run, phase),
      format: cpu,
      ratio: true,
    })),
    { label: `… bench process (load, fake LLM, receiver)`, pick: (run) => phase(run).bench, format: cpu },
    { label: `… rest of the machine meanwhile, cores`, pick: (run) => phase(run).otherCores, format: (v) => num(v, 2) },
  ];
}

function figures(result: TopologiesResult): Figure[] {
  const steady = (run: TopologyRun) => run.sixStep.steady;
  const burst = (run: TopologyRun) => run.sixStep.burst;
  const command = (run: TopologyRun) => run.command;
  const rate = runsOf(result, 'dev-server')[0]?.sixStep.steady.rate ?? 10;
  const count = result.runs[0]?.sixStep.burst.offered ?? 200;
  return [
    { label: 'system start to ready, s', pick: (run) => run.startSeconds, format: (v) => num(v) },
    { label: `six-step at ${rate} msg/s: replies`, pick: (run) => steady(run).completed, format: String },
    { label: '… webhook ack p50, ms', pick: (run) => steady(run).ack.p50, format: ms, ratio: true },
    { label: '… webhook ack p99, ms', pick: (run) => steady(run).ack.p99, format: ms, ratio: true },
    { label: '… reply p50, ms', pick: (run) => steady(run).reply.p50, format: ms, ratio: true },
    { label: '… reply p99, ms', pick: (run) => steady(run).reply.p99, format: ms, ratio: true },
    { label: '… orchestration overhead p50, ms', pick: (run) => steady(run).overhead.p50, format: ms, ratio: true },
    { label: '… orchestration overhead p99, ms', pick: (run) => steady(run).overhead.p99, format: ms, ratio: true },
    { label: '… CPU ms per run, all processes', pick: (run) => steady(run).cpu.total, format: cpu, ratio: true },
    {
      label: `six-step burst of ${count}: runs/s overall`,
      pick: (run) => burst(run).overallPerSecond,
      format: (v) => num(v),
      ratio: true,
    },
    {
      label: '… runs/s steady (10th-90th pct)',
      pick: (run) => burst(run).steadyPerSecond,
      format: (v) => num(v),
      ratio: true,
    },
    { label: '… reply p50 in the burst, ms', pick: (run) => burst(run).replyLatency.p50, format: ms, ratio: true },
    { label: '… reply p99 in the burst, ms', pick: (run) => burst(run).replyLatency.p99, format: ms, ratio: true },
    {
      label: '… missing / duplicate replies',
      pick: (run) => burst(run).missing + burst(run).duplicateReplies,
      format: String,
    },
    { label: '… progress notices', pick: (run) => burst(run).progressNotices, format: String },
    {
      label: '… Temporal persistence writes per run',
      pick: (run) => burst(run).persistenceWritesPerRun,
      format: (v) => num(v),
      ratio: true,
    },
    ...cpuFigures('… six-step burst', (run) => burst(run).cpu, result),
    {
      label: `/echo burst of ${count}: runs/s overall`,
      pick: (run) => command(run).overallPerSecond,
      format: (v) => num(v),
      ratio: true,
    },
    {
      label: '… runs/s steady (10th-90th pct)',
      pick: (run) => command(run).steadyPerSecond,
      format: (v) => num(v),
      ratio: true,
    },
    { label: '… reply p50 in the burst, ms', pick: (run) => command(run).replyLatency.p50, format: ms, ratio: true },
    {
      label: '… missing / duplicate replies',
      pick: (run) => command(run).missing + command(run).duplicateReplies,
      format: String,
    },
    {
      label: '… Temporal persistence writes per run',
      pick: (run) => command(run).persistenceWritesPerRun,
      format: (v) => num(v),
      ratio: true,
    },
    ...cpuFigures('… /echo burst', (run) => command(run).cpu, result),
  ];
}

/** Figure | dev server | production | production ÷ dev server. */
export function topologyRows(result: TopologiesResult): { header: Row; rows: Row[] } {
  return {
    header: [
      'figure',
      `dev server (${processesOf(result, 'dev-server')})`,
      `production (${processesOf(result, 'production')})`,
      'production ÷ dev server',
    ],
    rows: figures(result).map((figure) => {
      const [dev, prod] = TOPOLOGIES.map((topology) => valuesOf(result, topology, figure.pick));
      return [
        figure.label,
        cell(dev!, figure.format),
        cell(prod!, figure.format),
        figure.ratio ? times(median(prod!) / median(dev!)) : '',
      ];
    }),
  };
}

/** Per offered rate: each topology's ack latency, achieved rate, errors and CPU per acknowledgement (medians). */
export function ingressRows(result: TopologiesResult): { header: Row; rows: Row[] } {
  const rates = [...new Set(result.runs.flatMap((run) => run.ingress.map((level) => level.rate)))];
  const level = (run: TopologyRun, rate: number) => run.ingress.find((l) => l.rate === rate);
  const at = (topology: TopologyName, rate: number, pick: (l: NonNullable<ReturnType<typeof level>>) => number) =>
    median(
      valuesOf(result, topology, (run) => {
        const found = level(run, rate);
        return found ? pick(found) : undefined;
      }),
    );
  const breakdown = (topology: TopologyName, rate: number) => {
    const total = at(topology, rate, (l) => l.cpu.total);
    const parts = ROLES.map((role) => [role, at(topology, rate, (l) => l.cpu.byRole[role] ?? Number.NaN)] as const)
      .filter(([, value]) => Number.isFinite(value) && value > 0)
      .map(([role, value]) => `${role} ${num(value)}`);
    return `${num(total)} (${parts.join(', ')})`;
  };
  return {
    header: [
      'offered msg/s',
      'dev server: achieved',
      'p50 ms',
      'p99 ms',
      'errors',
      'production: achieved',
      'p50 ms',
      'p99 ms',
      'errors',
      'CPU ms per message, dev server',
      'production',
    ],
    rows: rates.map((rate) => [
      String(rate),
      num(at('dev-server', rate, (l) => l.achievedRate)),
      ms(at('dev-server', rate, (l) => l.latency.p50)),
      ms(at('dev-server', rate, (l) => l.latency.p99)),
      num(
        at('dev-server', rate, (l) => l.errors),
        0,
      ),
      num(at('production', rate, (l) => l.achievedRate)),
      ms(at('production', rate, (l) => l.latency.p50)),
      ms(at('production', rate, (l) => l.latency.p99)),
      num(
        at('production', rate, (l) => l.errors),
        0,
      ),
      breakdown('dev-server', rate),
      breakdown('production', rate),
    ]),
  };
}

function firstErrors(result: TopologiesResult): string[] {
  const errors: string[] = [];
  for (const run of result.runs) {
    const phases = [
      ['six-step burst', run.sixStep.burst.firstError],
      ['/echo burst', run.command.firstError],
      ...run.ingress.map((l) => [`ingress ${l.rate} msg/s`, l.firstError]),
    ];
    for (const [phase, error] of phases) {
      // An error page (nginx's 502) is HTML over several lines: one line of it is enough.
      if (error)
        errors.push(`${run.topology} round ${run.round}, ${phase}: ${error.replace(/\s+/g, ' ').slice(0, 120)}`);
    }
  }
  return errors;
}

export function topologiesText(result: TopologiesResult): string {
  const runs = topologyRows(result);
  const ingress = ingressRows(result);
  return [
    `topologies (${result.rounds} round${result.rounds > 1 ? 's' : ''}, medians; each round in brackets)`,
    textTable(runs.header, runs.rows),
    '',
    'topologies: ingress with the workers stopped (medians; latency of acknowledged requests)',
    textTable(ingress.header, ingress.rows),
    ...firstErrors(result).map((line) => `first error: ${line}`),
    `time per system (start, measure, stop): ${result.runs.map((run) => `${run.topology} ${Math.round(run.elapsedSeconds)} s`).join(', ')}`,
    '',
  ].join('\n');
}

export function topologiesMarkdown(result: TopologiesResult): string {
  const runs = topologyRows(result);
  const ingress = ingressRows(result);
  const errors = firstErrors(result);
  return [
    '### 7. Dev server and production topology',
    '',
    `The same load on fresh systems of both topologies, ${result.rounds} round${result.rounds > 1 ? 's' : ''}${
      result.rounds > 1 ? ' alternating which went first; medians, each round in brackets' : ''
    }. CPU per completed run by role; PostgreSQL is the backends of each system's own databases.`,
    '',
    markdownTable(runs.header, runs.rows),
    '',
    "Ingress at scenario 1's rates with the workers stopped (the runs are only recorded), through nginx on the production topology; medians. Latency of the acknowledged requests; refused ones are counted as errors.",
    '',
    markdownTable(ingress.header, ingress.rows),
    '',
    ...(errors.length
      ? [
          `First errors (of ${errors.length} phases with any): ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? '; …' : ''}.`,
          '',
        ]
      : []),
  ].join('\n');
}
