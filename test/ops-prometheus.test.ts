// A real Prometheus (the Debian package's binary) scrapes a running Conduit split the production way, an
// API-only process and a worker-only process with its own metrics server and the Temporal SDK exporter, and
// loads deploy/prometheus/alerts.yml. After a message travels the pipeline, the metric names and labels the
// alerts and the Grafana dashboard rely on are queried back from Prometheus itself.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../platform/free-port.js';
import { formatKey, generateKey } from '../security/key-list.js';
import { requireBinary, runTool, type Supervised, supervise } from './support/ops-binaries.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

const alertsFile = join(projectRoot, 'deploy/prometheus/alerts.yml');

let api: TestPlatform;
let worker: TestPlatform;
let prometheus: Supervised;
let prometheusUrl: string;
let scratch: string;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<Sample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
  return body.data.result;
}

/** Polls Prometheus until the query returns at least one sample, so each scrape has time to land. */
function samples(promql: string, timeoutMs = 20_000): Promise<Sample[]> {
  return eventually(
    async () => {
      const result = await query(promql);
      return result.length > 0 ? result : undefined;
    },
    timeoutMs,
    `Prometheus to return ${promql}\n${prometheus.output()}`,
  );
}

beforeAll(async () => {
  const prometheusBinary = requireBinary('prometheus');
  // Replicas of one deployment share their keys (each test platform has its own data directory).
  const keys = {
    CONDUIT_PAYLOAD_KEYS: formatKey(generateKey('payload')),
  };
  api = await startTestPlatform(keys, { worker: false });
  const [metricsPort, sdkPort, prometheusPort] = [await freePort(), await freePort(), await freePort()];
  worker = await startTestPlatform(
    {
      ...keys,
      TEMPORAL_TASK_QUEUE: api.config.temporal.taskQueue,
      METRICS_PORT: String(metricsPort),
      TEMPORAL_SDK_METRICS_PORT: String(sdkPort),
    },
    { api: false },
  );

  scratch = await mkdtemp(join(tmpdir(), 'conduit-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [alertsFile],
    scrape_configs: [
      {
        job_name: 'conduit',
        static_configs: [
          { targets: [new URL(api.apiUrl).host], labels: { role: 'api' } },
          { targets: [`127.0.0.1:${metricsPort}`], labels: { role: 'worker' } },
        ],
      },
      { job_name: 'temporal-sdk', static_configs: [{ targets: [`127.0.0.1:${sdkPort}`] }] },
    ],
  };
  // JSON is YAML: no serializer needed for the temporary config.
  await writeFile(join(scratch, 'prometheus.yml'), JSON.stringify(config, null, 2));
  prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  prometheus = supervise(prometheusBinary, [
    `--config.file=${join(scratch, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(scratch, 'data')}`,
    `--web.listen-address=127.0.0.1:${prometheusPort}`,
    '--log.level=warn',
  ]);
  await eventually(
    async () => {
      if (prometheus.child.exitCode !== null) throw new Error(`prometheus exited: ${prometheus.output()}`);
      return (await fetch(`${prometheusUrl}/-/ready`)).ok || undefined;
    },
    30_000,
    'Prometheus to become ready',
  );
});

afterAll(async () => {
  await prometheus?.stop();
  await worker?.stop();
  await api?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('Prometheus scraping Conduit', () => {
  it('scrapes the API and the worker-only process (up == 1) and sees their conduit_ metrics', async () => {
    const up = await eventually(
      async () => {
        const result = await query('up{job="conduit"} == 1');
        return result.length === 2 ? result : undefined;
      },
      30_000,
      `both conduit targets up\n${prometheus.output()}`,
    );
    expect(up.map((sample) => sample.metric.role).sort()).toEqual(['api', 'worker']);
    const resident = await samples('conduit_process_resident_memory_bytes{job="conduit"}');
    expect(resident).toHaveLength(2);
  });

  it('loads every alert of deploy/prometheus/alerts.yml and evaluates each without error', async () => {
    const expected = (
      parse(await readFile(alertsFile, 'utf8')) as { groups: Array<{ rules: { alert: string }[] }> }
    ).groups
      .flatMap((group) => group.rules.map((rule) => rule.alert))
      .sort();
    expect(expected.length).toBeGreaterThanOrEqual(8);
    const rules = await eventually(
      async () => {
        const response = await fetch(`${prometheusUrl}/api/v1/rules?type=alert`);
        const body = (await response.json()) as {
          data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
        };
        const all = body.data.groups.flatMap((group) => group.rules);
        // Evaluated at least once: health turns from "unknown" to "ok" (or "err" with lastError).
        return all.length > 0 && all.every((rule) => rule.health !== 'unknown') ? all : undefined;
      },
      20_000,
      'every alert rule to be evaluated',
    );
    expect(rules.map((rule) => rule.name).sort()).toEqual(expected);
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
  });

  it('accepts every query of the Grafana dashboard as valid PromQL', async () => {
    const dashboard = JSON.parse(
      await readFile(join(projectRoot, 'deploy/grafana/dashboards/conduit.json'), 'utf8'),
    ) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const queries = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
    );
    expect(queries.length).toBeGreaterThan(20);
    const rejected: string[] = [];
    for (const { panel, expr } of queries) {
      // Grafana fills $__rate_interval in; Prometheus needs a literal range.
      const response = await fetch(
        `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr.replaceAll('$__rate_interval', '1m'))}`,
      );
      const body = (await response.json()) as { status: string; error?: string };
      if (body.status !== 'success') rejected.push(`${panel}: ${body.error}`);
    }
    expect(rejected).toEqual([]);
  });

  it('exports data-directory disk usage, event-loop lag and pending jobs from every process', async () => {
    const ratios = await samples('conduit_data_dir_disk_used_ratio{job="conduit"}');
    expect(ratios).toHaveLength(2);
    for (const sample of ratios) {
      expect(Number(sample.value[1])).toBeGreaterThan(0);
      expect(Number(sample.value[1])).toBeLessThan(1);
    }
    expect(await samples('conduit_data_dir_disk_used_bytes{job="conduit"} > 0')).toHaveLength(2);
    expect(await samples('conduit_data_dir_disk_available_bytes{job="conduit"} > 0')).toHaveLength(2);
    expect(await samples('conduit_nodejs_eventloop_lag_p99_seconds{job="conduit"}')).toHaveLength(2);
    const pending = await samples('conduit_pending_jobs{job="conduit",role="worker"}');
    expect(pending.map((sample) => sample.metric.kind).sort()).toEqual(['approval', 'reminder']);
  });

  it('after a message runs, has run, pipeline-step, reply, HTTP and Temporal SDK metrics with their labels', async () => {
    const messageId = `ops-prom-${Date.now()}`;
    const accepted = await api.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({
        message_id: messageId,
        conversation_id: 'ops',
        sender: { id: 'ops-user' },
        text: '/echo scraped',
      }),
    });
    expect(accepted.status).toBe(202);
    const workflowId = `message:api:${messageId}`;
    await eventually(
      async () => {
        const body = (await (await api.api(`/v1/runs/${encodeURIComponent(workflowId)}`)).json()) as { state: string };
        return body.state === 'COMPLETED' || undefined;
      },
      30_000,
      `run ${workflowId} to complete`,
    );

    const started = await samples('conduit_runs_started_total{job="conduit",role="worker",channel="api"} >= 1');
    expect(started).toHaveLength(1);
    const finished = await samples('conduit_runs_finished_total{job="conduit",role="worker",channel="api"}');
    expect(finished.map((sample) => sample.metric.outcome)).toContain('replied');

    const steps = await samples(
      'conduit_pipeline_step_duration_seconds_count{job="conduit",role="worker",result="ok",step=~"admitRun|replyAndFinish"}',
    );
    expect(steps.map((sample) => sample.metric.step).sort()).toEqual(['admitRun', 'replyAndFinish']);

    const replies = await samples('conduit_replies_sent_total{job="conduit",role="worker"}');
    expect(replies.map((sample) => sample.metric)).toContainEqual(
      expect.objectContaining({ channel: 'api', kind: 'final', result: 'sent' }),
    );

    const requests = await samples(
      'conduit_http_request_duration_seconds_count{job="conduit",role="api",method="POST",route="/v1/messages",status="202"}',
    );
    expect(Number(requests[0]!.value[1])).toBeGreaterThanOrEqual(1);

    // The metric ConduitWorkflowTaskBacklog is built on, from the worker's Temporal SDK exporter.
    const scheduleToStart = await samples(
      `temporal_workflow_task_schedule_to_start_latency_count{job="temporal-sdk",task_queue="${api.config.temporal.taskQueue}"}`,
    );
    expect(Number(scheduleToStart[0]!.value[1])).toBeGreaterThanOrEqual(1);
    // A command run is one workflow task with local activities only; a reminder's delivery is an ordinary
    // activity, which gives the histogram ConduitActivityBacklog is built on.
    const reminder = await api.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'ops', text: '/remind 1s scraped' }),
    });
    expect(reminder.status).toBe(202);
    await samples(
      `temporal_activity_schedule_to_start_latency_bucket{job="temporal-sdk",task_queue="${api.config.temporal.taskQueue}"}`,
    );
  });

  it("serves expositions from the API and the worker that pass promtool's metric lint", async () => {
    const promtool = requireBinary('promtool');
    // A run first, so labelled counters and histograms have samples to lint, not only their HELP lines.
    const messageId = `ops-lint-${Date.now()}`;
    const accepted = await api.api('/v1/messages?wait=20', {
      method: 'POST',
      body: JSON.stringify({
        message_id: messageId,
        conversation_id: 'ops',
        sender: { id: 'ops-user' },
        text: '/echo lint',
      }),
    });
    expect(accepted.status).toBe(200);
    for (const url of [api.metricsUrl!, worker.metricsUrl!]) {
      const exposition = await (await fetch(url)).text();
      expect(exposition).toContain('conduit_runs_');
      const lint = runTool(promtool, ['check', 'metrics'], undefined, exposition);
      expect({ url, ...lint }).toEqual({ url, status: 0, output: '' });
    }
  });
});
