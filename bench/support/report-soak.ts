// The soak scenario's console table and its part of the results section of docs/benchmarks.md.
import type { SoakResult } from '../scenarios/soak.js';
import { ms, num } from './stats.js';

type Row = string[];

const mib = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${Math.round(value)} MiB`;
const count = (value: number | undefined) => (value === undefined ? 'n/a' : String(value));
const signed = (value: number | undefined, digits = 1) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
const minute = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

export function soakProcessRows(soak: SoakResult): { header: Row; rows: Row[] } {
  return {
    header: [
      'process',
      'RSS first / after warm-up / last / max',
      'RSS slope MiB/h (second half)',
      'heap slope MiB/h',
      'fds first / last / max',
      'fd slope /h',
      'handles first / last / max',
    ],
    rows: soak.processes.map((p) => [
      p.name,
      `${mib(p.rssFirstMiB)} / ${mib(p.rssAfterWarmupMiB)} / ${mib(p.rssLastMiB)} / ${mib(p.rssMaxMiB)}`,
      `${signed(p.rssSlopeMiBPerHour)} (${signed(p.rssSlopeSecondHalfMiBPerHour)})`,
      signed(p.heapSlopeMiBPerHour),
      `${count(p.fdFirst)} / ${count(p.fdLast)} / ${count(p.fdMax)}`,
      signed(p.fdSlopePerHour),
      p.handlesFirst === undefined
        ? 'n/a'
        : `${count(p.handlesFirst)} / ${count(p.handlesLast)} / ${count(p.handlesMax)}`,
    ]),
  };
}

export function soakWindowRows(soak: SoakResult): { header: Row; rows: Row[] } {
  return {
    header: ['minutes', 'acknowledged', 'replied', 'reply p50 ms', 'p99 ms', 'max ms'],
    rows: soak.windows.map((w) => [
      `${minute(w.fromMinute)}-${minute(w.toMinute)}`,
      String(w.acknowledged),
      String(w.replied),
      ms(w.latency.p50),
      ms(w.latency.p99),
      ms(w.latency.max),
    ]),
  };
}

/** One paragraph: what was offered, what came back, and how stable p99 was. */
export function soakSummary(soak: SoakResult): string {
  const p99s = soak.windows.map((w) => w.latency.p99).filter(Number.isFinite);
  const spread = p99s.length ? `${ms(Math.min(...p99s))}-${ms(Math.max(...p99s))} ms` : 'n/a';
  return [
    `${soak.topology}: ${soak.rate} msg/s for ${minute(soak.minutes)} min, model delay per call ${ms(soak.modelDelayMs.p50)} ms median,`,
    `p99 ${ms(soak.modelDelayMs.p99)} ms over ${soak.modelCalls} calls (seed ${soak.latencyModel.seed}).`,
    `Acknowledged ${soak.acknowledged} (refused ${soak.ackErrors}), replied ${soak.replied}, missing ${soak.missing},`,
    `duplicated ${soak.duplicated}; ${soak.progressNotices} progress notices. Reply p50 ${ms(soak.replyLatency.p50)} ms,`,
    `p99 ${ms(soak.replyLatency.p99)} ms; p99 per ${minute(soak.windowMinutes)}-minute window ${spread}.`,
    `Slopes from minute ${minute(soak.warmupMinutes)} to the end of the load, samples every ${soak.sampleSeconds} s.`,
    ...soak.processes
      .filter((p) => p.historyCacheLast !== undefined)
      .map(
        (p) =>
          `${p.name}: ${count(p.historyCacheFirst)} → ${count(p.historyCacheLast)} workflow executions in its history cache, ` +
          `${num(p.rssPerCacheEntryKiB)} KiB of RSS per entry (slope of RSS over entries after the warm-up).`,
      ),
    `Load average ${num(soak.loadAverage.first, 2)} at the start, mean ${num(soak.loadAverage.mean, 2)}, max ${num(soak.loadAverage.max, 2)}.`,
  ].join(' ');
}
