// CPU and memory of a system under test that is more than one process (Conduit's API, worker and dev server;
// n8n and the task runner it spawns): every process of the given roots and their live descendants, from /proc.
import { readdir, readFile } from 'node:fs/promises';
import { cpuMs } from './context.js';
import { readRss } from './services.js';

/** The given pids and every live process descended from one of them. */
export async function processTree(roots: number[]): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    // Fields after the command name (which may contain spaces) start at ") "; the parent pid is the second.
    parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const tree = new Set(roots.filter((pid) => parents.has(pid)));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/**
 * CPU milliseconds (user + system) used so far by each process of the tree, by pid. A process that ends
 * between two readings takes its CPU with it, so compare per-pid readings of long-lived processes.
 */
export async function treeCpu(roots: number[]): Promise<Map<number, number>> {
  const used = new Map<number, number>();
  for (const pid of await processTree(roots)) {
    const ms = await cpuMs(pid);
    if (ms !== undefined) used.set(pid, ms);
  }
  return used;
}

/** CPU used between two treeCpu readings; a process born in between counts from zero. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** The summed resident set size (VmRSS) of the tree, in bytes. */
export async function treeRss(roots: number[]): Promise<number> {
  let total = 0;
  for (const pid of await processTree(roots)) total += (await readRss(pid))?.rss ?? 0;
  return total;
}

/** Samples the tree's summed RSS every intervalMs until stopped; the largest sum seen is the peak. */
export function sampleRss(roots: number[], intervalMs = 250): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await treeRss(roots));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Math.max(peak, await treeRss(roots));
    },
  };
}

/** CPU milliseconds the whole machine has spent busy (all cores, every process, not idle or waiting on I/O). */
export async function machineBusyMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  // cpu  user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return (busy * 1000) / 100; // USER_HZ is 100 on Linux
}
