// Samples the resources of the processes under test at a fixed interval for long runs: resident memory (VmRSS
// from /proc/<pid>/status), open file descriptors (entries of /proc/<pid>/fd) and, for Conduit's node processes,
// V8 heap used and active handles from their own /metrics (prom-client's default metrics); for a Temporal server
// that serves metrics, the entries of its history service's mutable-state cache.
import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { readRss, scrape } from './services.js';

export interface SampledProcess {
  name: string;
  pid: number | undefined;
  /** Its Prometheus endpoint: heap and handles of Conduit processes, the history cache of Temporal. */
  metricsUrl?: string;
}

export interface ProcessSample {
  /** Seconds since the sampler's origin (the load's start). */
  at: number;
  rssMiB?: number;
  fds?: number;
  heapUsedMiB?: number;
  activeHandles?: number;
  /** Temporal only: workflow executions held in the history service's mutable-state cache. */
  historyCacheEntries?: number;
}

export interface ProcessSeries {
  name: string;
  pid: number | undefined;
  samples: ProcessSample[];
}

export interface Sampler {
  series: ProcessSeries[];
  /** 1-minute load average at each sampling instant. */
  load: Array<{ at: number; load1: number }>;
  /** Takes one sample now, outside the interval (e.g. at the start and the end). */
  sampleNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startSampler(processes: SampledProcess[], intervalMs: number, origin: number): Sampler {
  const series: ProcessSeries[] = processes.map((p) => ({ name: p.name, pid: p.pid, samples: [] }));
  const load: Sampler['load'] = [];
  let running: Promise<void> = Promise.resolve();
  const sampleNow = () => {
    running = running.then(async () => {
      const at = (performance.now() - origin) / 1000;
      load.push({ at, load1: Math.round(loadavg()[0]! * 100) / 100 });
      await Promise.all(
        processes.map(async (p, i) => {
          series[i]!.samples.push({ at, ...(await sampleProcess(p)) });
        }),
      );
    });
    return running;
  };
  const timer = setInterval(() => void sampleNow(), intervalMs);
  return {
    series,
    load,
    sampleNow,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function sampleProcess(p: SampledProcess): Promise<Omit<ProcessSample, 'at'>> {
  const [memory, fds, metrics] = await Promise.all([
    readRss(p.pid),
    countFds(p.pid),
    p.metricsUrl ? scrape(p.metricsUrl).catch(() => new Map<string, number>()) : new Map<string, number>(),
  ]);
  const heap = metrics.get('conduit_nodejs_heap_size_used_bytes');
  return {
    rssMiB: memory ? memory.rss / 2 ** 20 : undefined,
    fds,
    heapUsedMiB: heap === undefined ? undefined : heap / 2 ** 20,
    // Summed over its `type` label (core/metrics.ts drops the _total duplicate).
    activeHandles: metrics.get('conduit_nodejs_active_handles'),
    historyCacheEntries: metrics.get('cache_usage{cache_type=mutablestate}'),
  };
}

/** Open file descriptors of a process (sockets, pipes, files, eventfds …); undefined once it is gone. */
export async function countFds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return undefined;
  }
}

/** Pids of a process's direct children (nginx's worker under its master, say). */
export async function childPids(pid: number | undefined): Promise<number[]> {
  if (pid === undefined) return [];
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** The first process whose command line has an argument containing `fragment`. */
export async function findProcessByArgument(fragment: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (args.split('\0').some((arg) => arg.includes(fragment))) return Number(entry);
  }
  return undefined;
}
