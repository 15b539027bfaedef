// Scenario peer (on request: --scenario=peer): the same job done by Conduit and by n8n on this machine in this
// invocation, so the ratio between them is measured rather than quoted. The job: a signed custom-channel
// message `/echo <id>` in, `<id>` back in the same HTTP exchange. Conduit runs it as its durable command run
// (API and worker processes, the Temporal dev server, PostgreSQL; the reply through `?wait`); n8n as a
// Webhook → Code → Respond to Webhook workflow with its default SQLite database. Both stay up for the whole
// scenario and are offered the same open-loop load in turn, rate by rate.
import postgres from 'postgres';
import { type BenchContext, benchClient, instanceEnv, signedMessage, tempDir } from '../support/context.js';
import { startInstance } from '../support/instances.js';
import { httpAgent, openLoop, postJson } from '../support/load.js';
import { startN8n } from '../support/n8n.js';
import { installPeer } from '../support/peer-install.js';
import { cpuBetween, machineBusyMs, sampleRss, treeCpu, treeRss } from '../support/process-tree.js';
import { startBenchTemporal } from '../support/services.js';
import { type Summary, steadyThroughput, summarize } from '../support/stats.js';

export type PeerSystem = 'conduit' | 'n8n';

export interface PeerPhase {
  system: PeerSystem;
  rate: number;
  sent: number;
  /** Answered with the expected reply. */
  completed: number;
  /** Answered without it: an HTTP error, a wrong body, or (Conduit) a run not finished within the wait. */
  errors: number;
  firstError?: string;
  /** Completed ÷ time from the first due message to the last completion. */
  completionsPerSecond: number;
  /** Completions per second between the 10th and 90th percentile completion (saturation bursts). */
  steadyPerSecond: number;
  /** From each message's due time to its answer, completed messages only (ms). */
  latency: Summary;
  /** CPU of the system's processes over the phase and until its work was done, per message it took on. */
  cpuMsPerMessage: number;
  cpuMsPerMessageByProcess: Record<string, number>;
  /** Conduit only: the backends of the bench database (its PostgreSQL work), per message. */
  postgresCpuMsPerMessage?: number;
  /** Largest summed RSS of the system's processes, sampled every 250 ms during the phase. */
  peakRssMiB: number;
  /**
   * Cores the rest of the machine kept busy meanwhile (all CPU time minus this system's and the bench process's,
   * over the phase's wall time): the other system idling, PostgreSQL's shared processes, and anything else.
   */
  otherBusyCores: number;
}

export interface PeerRatios {
  rate: number;
  /** Conduit ÷ n8n: above 1 means Conduit is slower, does fewer, uses more. */
  latencyP50: number;
  latencyP99: number;
  completionsPerSecond: number;
  cpuMsPerMessage: number;
  /** With Conduit's PostgreSQL backends added to its processes. */
  cpuMsPerMessageWithPostgres?: number;
  peakRss: number;
}

export interface PeerResult {
  n8n: { version: string; node: string; installed: boolean; installSeconds: number; startMs: number };
  conduit: { node: string; startMs: number };
  seconds: number;
  idleRssMiB: Record<PeerSystem, number>;
  /** CPU each system used while idle (timers, pollers, housekeeping), ms per second, over 10 s before the load. */
  idleCpuMsPerSecond: Record<PeerSystem, number>;
  phases: PeerPhase[];
  ratios: PeerRatios[];
  saturation?: { offered: number; offerRate: number; conduit: PeerPhase; n8n: PeerPhase; ratios: PeerRatios };
}

/** Seconds Conduit's API holds a webhook open for the run's answer (the API caps `?wait` at 60). */
const WAIT_SECONDS = 60;

export async function peer(ctx: BenchContext): Promise<PeerResult> {
  const install = await installPeer(ctx.projectRoot, ctx.progress);
  const dir = await tempDir(ctx, 'peer');

  // Whatever was started is stopped, last first, however far the start got.
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const conduitStarted = performance.now();
    const temporal = await startBenchTemporal(ctx.projectRoot, dir, ctx.progress);
    stops.push(temporal.stop);
    const taskQueue = `bench-peer-${ctx.runTag}`;
    const api = await startInstance(
      ctx,
      'peer-api',
      { worker: false, api: true },
      await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/api`),
      dir,
    );
    stops.push(() => api.stop());
    const worker = await startInstance(
      ctx,
      'peer-worker',
      { worker: true, api: false },
      await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/worker`),
      dir,
    );
    stops.push(() => worker.stop());
    const conduitStartMs = performance.now() - conduitStarted;
    const n8n = await startN8n(install, dir, ctx.progress);
    stops.push(n8n.stop);
    const { client, close } = await benchClient(ctx, temporal.address);
    stops.push(close);
    // One connection for the whole scenario: the server is shared, and at its connection limit a new one is refused.
    const monitor = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
    stops.push(() => monitor.end({ timeout: 1 }));

    const conduitUrl = `${api.apiUrl}/webhooks/custom?wait=${WAIT_SECONDS}`;
    const systems: Record<PeerSystem, System> = {
      conduit: {
        processes: { api: [api.pid], worker: [worker.pid], temporal: temporal.pid ? [temporal.pid] : [] },
        async send(id) {
          const { body, headers } = signedMessage(ctx, id, { callback: false, text: `/echo ${id}` });
          const answer = await postJson(conduitUrl, body, headers, (WAIT_SECONDS + 15) * 1000);
          if (answer.status === 202) throw new Error(`run not finished within the ${WAIT_SECONDS} s wait`);
          if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
          const reply = (JSON.parse(answer.body) as { result?: { reply?: string } }).result?.reply;
          if (reply !== id) throw new Error(`reply ${JSON.stringify(reply)} instead of ${id}`);
        },
        // Runs whose wait ran out finish later; their work belongs to the phase that sent them.
        async drained() {
          const query = `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`;
          const deadline = Date.now() + 300_000;
          while ((await client.workflow.count(query)).count > 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        },
        postgresPids: () => databaseBackends(monitor),
      },
      n8n: {
        processes: { n8n: [n8n.pid] },
        async send(id) {
          // The same signed body; the workflow reads its text and ignores the rest.
          const { body } = signedMessage(ctx, id, { callback: false, text: `/echo ${id}` });
          // The same budget as Conduit's wait; an execution past it still runs, and drained() waits for it.
          const answer = await postJson(n8n.webhookUrl, body, {}, WAIT_SECONDS * 1000);
          if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
          const reply = (JSON.parse(answer.body) as { reply?: string }).reply;
          if (reply !== id) throw new Error(`reply ${JSON.stringify(reply)} instead of ${id}`);
        },
        // n8n has no count of executions in flight to ask; it is done when its processes are back to idle CPU.
        async drained() {
          const deadline = Date.now() + 300_000;
          const roots = [n8n.pid];
          while (Date.now() < deadline) {
            const before = await treeCpu(roots);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            if (cpuBetween(before, await treeCpu(roots)) < 100) return;
          }
        },
      },
    };
    const idleRssMiB = {
      conduit: (await treeRss(Object.values(systems.conduit.processes).flat())) / 2 ** 20,
      n8n: (await treeRss(Object.values(systems.n8n.processes).flat())) / 2 ** 20,
    };
    const idleSeconds = ctx.quick ? 3 : 10;
    const idleBefore = await cpuByProcess({ ...systems.conduit.processes, ...systems.n8n.processes });
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idleAfter = await cpuByProcess({ ...systems.conduit.processes, ...systems.n8n.processes });
    const idleCpu = (system: System) =>
      Object.keys(system.processes).reduce((sum, key) => sum + cpuBetween(idleBefore[key]!, idleAfter[key]!), 0) /
      idleSeconds;
    const idleCpuMsPerSecond = { conduit: idleCpu(systems.conduit), n8n: idleCpu(systems.n8n) };

    // Warm-up (JIT, connection pools, caches), not measured.
    for (const system of ['conduit', 'n8n'] as const) {
      ctx.progress(`peer: warming up ${system}`);
      await openLoop({
        ratePerSecond: 10,
        count: ctx.quick ? 20 : 60,
        send: (i) => systems[system].send(`peer-${ctx.runTag}-${system}-warm-${i}`),
      });
    }

    // Two rates below what either system finishes per second on the 2-core reference machine, two above it.
    const rates = ctx.quick ? [10, 25] : [5, 10, 25, 50];
    const seconds = ctx.quick ? 3 : 20;
    const phases: PeerPhase[] = [];
    const ratios: PeerRatios[] = [];
    for (const [index, rate] of rates.entries()) {
      const pair = {} as Record<PeerSystem, PeerPhase>;
      // Alternate which system goes first, so neither always runs on a machine still settling from the other.
      const order: PeerSystem[] = index % 2 === 0 ? ['conduit', 'n8n'] : ['n8n', 'conduit'];
      for (const name of order) {
        ctx.progress(`peer: ${name} at ${rate} msg/s for ${seconds} s`);
        pair[name] = await measure(ctx, name, systems[name], rate, rate * seconds, `r${rate}`);
        phases.push(pair[name]);
        await new Promise((resolve) => setTimeout(resolve, ctx.quick ? 500 : 3000));
      }
      ratios.push(ratiosOf(rate, pair.conduit, pair.n8n));
    }

    // Saturation: a burst offered far faster than either can serve.
    const offered = ctx.quick ? 100 : 500;
    const offerRate = ctx.quick ? 200 : 500;
    ctx.progress(`peer: saturation, ${offered} messages at ${offerRate} msg/s each`);
    const burst = {} as Record<PeerSystem, PeerPhase>;
    for (const name of ['conduit', 'n8n'] as const) {
      burst[name] = await measure(ctx, name, systems[name], offerRate, offered, 'sat');
      await new Promise((resolve) => setTimeout(resolve, ctx.quick ? 500 : 3000));
    }
    return {
      n8n: {
        version: install.n8nVersion,
        node: install.nodeVersion,
        installed: install.installed,
        installSeconds: install.installSeconds,
        startMs: n8n.startMs,
      },
      conduit: { node: process.version, startMs: conduitStartMs },
      seconds,
      idleRssMiB,
      idleCpuMsPerSecond,
      phases,
      ratios,
      saturation: {
        offered,
        offerRate,
        conduit: burst.conduit,
        n8n: burst.n8n,
        ratios: ratiosOf(offerRate, burst.conduit, burst.n8n),
      },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

interface System {
  /** Root pids by name; each counts with its descendants (n8n's task runner, tsx's esbuild). */
  processes: Record<string, number[]>;
  send(messageId: string): Promise<void>;
  /** Resolves once the system has no work left from what it was sent. */
  drained(): Promise<void>;
  postgresPids?: () => Promise<number[]>;
}

async function measure(
  ctx: BenchContext,
  name: PeerSystem,
  system: System,
  rate: number,
  count: number,
  label: string,
): Promise<PeerPhase> {
  const roots = Object.values(system.processes).flat();
  const cpuBefore = await cpuByProcess(system.processes);
  const backends = async () => {
    const pids = await system.postgresPids?.().catch(() => undefined);
    return pids ? treeCpu(pids) : undefined;
  };
  const postgresBefore = await backends();
  const rss = sampleRss(roots);
  const busyBefore = await machineBusyMs();
  const benchBefore = process.cpuUsage();
  const wallBefore = performance.now();
  // Fresh connections for every phase: a keep-alive socket left idle since the last phase can be closed by the
  // server (Node's 5 s keepAliveTimeout) just as a request goes out on it, an ECONNRESET of the generator's making.
  httpAgent.destroy();
  const { outcomes, startedAt } = await openLoop({
    ratePerSecond: rate,
    count,
    send: (i) => system.send(`peer-${ctx.runTag}-${name}-${label}-${i}`),
  });
  await system.drained();
  const peakRss = await rss.stop();
  const benchUsed = process.cpuUsage(benchBefore);
  const busyUsed = (await machineBusyMs()) - busyBefore;
  const wallMs = performance.now() - wallBefore;
  const cpuAfter = await cpuByProcess(system.processes);
  const postgresAfter = postgresBefore && (await backends());
  const postgresUsed = postgresBefore && postgresAfter ? cpuBetween(postgresBefore, postgresAfter) : undefined;
  const completed = outcomes.filter((o) => o.ok);
  // Every message reached the system and was worked on, errors included (a Conduit run past the wait still ran).
  const perMessage = (ms: number) => ms / Math.max(1, outcomes.length);
  // Each named process, and apart from it what its children used (n8n's task runner, which runs the Code node).
  const byProcess: Record<string, number> = {};
  for (const [key, roots] of Object.entries(system.processes)) {
    const own = (readings: Map<number, number>) => new Map([...readings].filter(([pid]) => roots.includes(pid)));
    const children = (readings: Map<number, number>) => new Map([...readings].filter(([pid]) => !roots.includes(pid)));
    byProcess[key] = perMessage(cpuBetween(own(cpuBefore[key]!), own(cpuAfter[key]!)));
    const childMs = cpuBetween(children(cpuBefore[key]!), children(cpuAfter[key]!));
    if (childMs > 0) byProcess[`${key} children`] = perMessage(childMs);
  }
  const lastDone = Math.max(...completed.map((o) => o.doneAt));
  return {
    system: name,
    rate,
    sent: outcomes.length,
    completed: completed.length,
    errors: outcomes.length - completed.length,
    firstError: outcomes.find((o) => !o.ok)?.error,
    completionsPerSecond: completed.length ? completed.length / ((lastDone - startedAt) / 1000) : 0,
    steadyPerSecond: steadyThroughput(completed.map((o) => o.doneAt)),
    latency: summarize(completed.map((o) => o.latencyMs)),
    cpuMsPerMessage: Object.values(byProcess).reduce((a, b) => a + b, 0),
    cpuMsPerMessageByProcess: byProcess,
    postgresCpuMsPerMessage: postgresUsed === undefined ? undefined : perMessage(postgresUsed),
    peakRssMiB: peakRss / 2 ** 20,
    otherBusyCores:
      (busyUsed -
        (benchUsed.user + benchUsed.system) / 1000 -
        Object.values(byProcess).reduce((a, b) => a + b, 0) * outcomes.length -
        (postgresUsed ?? 0)) /
      wallMs,
  };
}

async function cpuByProcess(processes: Record<string, number[]>): Promise<Record<string, Map<number, number>>> {
  const readings: Record<string, Map<number, number>> = {};
  for (const [key, roots] of Object.entries(processes)) readings[key] = await treeCpu(roots);
  return readings;
}

/** PostgreSQL backends connected to the bench database: Conduit's share of the shared server. */
async function databaseBackends(sql: postgres.Sql): Promise<number[]> {
  const rows =
    await sql`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  return rows.map((row) => Number(row.pid));
}

function ratiosOf(rate: number, conduit: PeerPhase, n8n: PeerPhase): PeerRatios {
  return {
    rate,
    latencyP50: conduit.latency.p50 / n8n.latency.p50,
    latencyP99: conduit.latency.p99 / n8n.latency.p99,
    completionsPerSecond: conduit.completionsPerSecond / n8n.completionsPerSecond,
    cpuMsPerMessage: conduit.cpuMsPerMessage / n8n.cpuMsPerMessage,
    cpuMsPerMessageWithPostgres:
      conduit.postgresCpuMsPerMessage === undefined
        ? undefined
        : (conduit.cpuMsPerMessage + conduit.postgresCpuMsPerMessage) / n8n.cpuMsPerMessage,
    peakRss: conduit.peakRssMiB / n8n.peakRssMiB,
  };
}
