// The console tables of the peer scenario: each system per offered rate, then Conduit ÷ n8n.
import type { PeerPhase, PeerResult } from '../scenarios/peer.js';
import { ms, num } from './stats.js';
import { textTable } from './tables.js';

const times = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `×${value < 10 ? value.toFixed(2) : value.toFixed(1)}`;

function phaseRow(phase: PeerPhase): string[] {
  const byProcess = Object.entries(phase.cpuMsPerMessageByProcess)
    .map(([name, value]) => `${name} ${num(value)}`)
    .join(', ');
  return [
    phase.system,
    String(phase.rate),
    `${phase.completed}/${phase.sent}`,
    String(phase.errors),
    num(phase.completionsPerSecond),
    ms(phase.latency.p50),
    ms(phase.latency.p99),
    `${num(phase.cpuMsPerMessage)} (${byProcess})`,
    phase.postgresCpuMsPerMessage === undefined ? '' : num(phase.postgresCpuMsPerMessage),
    `${Math.round(phase.peakRssMiB)} MiB`,
    num(phase.otherBusyCores),
  ];
}

export function peerTables(peer: PeerResult): string {
  const header = [
    'system',
    'msg/s',
    'completed',
    'errors',
    'completions/s',
    'p50 ms',
    'p99 ms',
    'CPU ms/msg (by process)',
    'PostgreSQL CPU ms/msg',
    'peak RSS',
    'other busy cores',
  ];
  const phases = [...peer.phases].sort((a, b) => a.rate - b.rate || a.system.localeCompare(b.system));
  const out = [
    `peer: Conduit /echo (durable, ?wait) vs n8n ${peer.n8n.version} on Node ${peer.n8n.node} (webhook → code → respond), ${peer.seconds} s per rate`,
    `idle: RSS Conduit ${Math.round(peer.idleRssMiB.conduit)} MiB, n8n ${Math.round(peer.idleRssMiB.n8n)} MiB; CPU Conduit ${num(peer.idleCpuMsPerSecond.conduit)} ms/s, n8n ${num(peer.idleCpuMsPerSecond.n8n)} ms/s; n8n answered ${(peer.n8n.startMs / 1000).toFixed(1)} s after start`,
    textTable(header, phases.map(phaseRow)),
  ];
  if (peer.saturation) {
    const { conduit, n8n } = peer.saturation;
    out.push(
      `saturation: ${peer.saturation.offered} messages at ${peer.saturation.offerRate} msg/s; completions/s steady (10th–90th percentile) Conduit ${num(conduit.steadyPerSecond)}, n8n ${num(n8n.steadyPerSecond)}`,
      textTable(header, [phaseRow(conduit), phaseRow(n8n)]),
    );
  }
  const ratios = [...peer.ratios, ...(peer.saturation ? [{ ...peer.saturation.ratios }] : [])];
  out.push(
    'Conduit ÷ n8n',
    textTable(
      ['msg/s', 'p50 latency', 'p99 latency', 'completions/s', 'CPU/msg', 'CPU/msg with PostgreSQL', 'peak RSS'],
      ratios.map((r) => [
        String(r.rate),
        times(r.latencyP50),
        times(r.latencyP99),
        times(r.completionsPerSecond),
        times(r.cpuMsPerMessage),
        times(r.cpuMsPerMessageWithPostgres),
        times(r.peakRss),
      ]),
    ),
    '',
  );
  return out.join('\n');
}
