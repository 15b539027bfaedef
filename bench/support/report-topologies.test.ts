import { describe, expect, it } from 'vitest';
import type { BurstPhase, CpuPerUnit, TopologyName, TopologyRun } from '../scenarios/topologies.js';
import { ingressRows, topologyRows } from './report-topologies.js';
import { summarize } from './stats.js';

const cpu = (total: number, byRole: CpuPerUnit['byRole'], postgresKnown = true): CpuPerUnit => ({
  byRole,
  total,
  bench: 1,
  otherCores: 0.5,
  postgresKnown,
});

const burst = (runsPerSecond: number, share: CpuPerUnit): BurstPhase => ({
  offered: 200,
  completed: 200,
  steadyPerSecond: runsPerSecond,
  overallPerSecond: runsPerSecond,
  replyLatency: summarize([100, 200]),
  offerRate: 500,
  missing: 0,
  duplicateReplies: 0,
  ackErrors: 0,
  progressNotices: 0,
  cpu: share,
});

function run(topology: TopologyName, round: number, runsPerSecond: number, postgresKnown = true): TopologyRun {
  const production = topology === 'production';
  const share = cpu(
    100,
    { API: 5, worker: 50, Temporal: 40, 'PostgreSQL (Conduit)': 5, ...(production ? { nginx: 1 } : {}) },
    postgresKnown,
  );
  return {
    topology,
    round,
    processes: production ? { API: 2, worker: 2, Temporal: 1, nginx: 1 } : { API: 1, worker: 1, Temporal: 1 },
    startSeconds: 10,
    elapsedSeconds: 100,
    sixStep: {
      steady: {
        rate: 10,
        offered: 100,
        completed: 100,
        missing: 0,
        duplicateReplies: 0,
        ackErrors: 0,
        ack: summarize([5]),
        reply: summarize([300]),
        overhead: summarize([280]),
        insideMsPerRun: 20,
        cpu: share,
      },
      burst: burst(runsPerSecond, share),
    },
    command: burst(runsPerSecond * 2, share),
    ingress: [{ rate: 50, sent: 400, ok: 400, errors: 0, latency: summarize([4, 8]), achievedRate: 50, cpu: share }],
  };
}

describe('the topologies report', () => {
  const result = {
    rounds: 3,
    runs: [
      run('dev-server', 1, 10),
      run('production', 1, 8),
      run('production', 2, 6),
      run('dev-server', 2, 14),
      run('dev-server', 3, 12),
      run('production', 3, 4),
    ],
  };

  it('shows the median of the rounds with each round in order, and production ÷ dev server', () => {
    const { header, rows } = topologyRows(result);
    expect(header[1]).toContain('1 API, 1 worker');
    expect(header[2]).toContain('2 APIs, 2 workers');
    const runsPerSecond = rows.find((row) => row[0]!.startsWith('six-step burst of 200: runs/s overall'))!;
    expect(runsPerSecond.slice(1)).toEqual(['12.0 (10.0, 14.0, 12.0)', '6.0 (8.0, 6.0, 4.0)', '×0.50']);
  });

  it('lists a role only where some run used it, and no PostgreSQL figure when the server refused the query', () => {
    const rows = topologyRows(result).rows.map((row) => row[0]);
    expect(rows).toContain('… nginx');
    expect(rows).not.toContain('… MinIO');
    const refused = { rounds: 1, runs: [run('dev-server', 1, 10, false), run('production', 1, 8)] };
    const postgres = topologyRows(refused).rows.find((row) => row[0] === '… PostgreSQL (Conduit)')!;
    expect(postgres[1]).toBe('n/a');
    expect(postgres[2]).toBe('5.0');
  });

  it('gives each offered ingress rate one row with both topologies', () => {
    const { rows } = ingressRows(result);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(0, 5)).toEqual(['50', '50.0', '4.0', '8.0', '0']);
  });
});
