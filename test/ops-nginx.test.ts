// deploy/nginx/conduit.conf in a real nginx (the Debian package's binary, run in the foreground with its own
// prefix, pid and temp paths) load-balancing two API processes: both receive traffic, and when one dies
// /healthz and new messages through nginx keep answering because the dead replica is skipped.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../platform/free-port.js';
import { formatKey, generateKey } from '../security/key-list.js';
import { requireBinary, runTool, type Supervised, supervise } from './support/ops-binaries.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

const UPSTREAM_LINE = 'server api:8080 max_fails=2 fail_timeout=2s;';
// The container logs to its stdout; under the test runner stdout is a socket nginx cannot open, so a file.
const ACCESS_LOG_LINE = 'access_log /dev/stdout conduit_json;';

let first: TestPlatform;
let second: TestPlatform;
let secondStopped = false;
let nginx: Supervised;
let proxyUrl: string;
let scratch: string;
let adminKey: string;

/** How many /healthz requests a replica has answered, from its own metrics registry. */
async function healthzCount(platform: TestPlatform): Promise<number> {
  const metric = await platform.metrics.httpRequests.get();
  return metric.values
    .filter((value) => value.metricName?.endsWith('_count') && value.labels.route === '/healthz')
    .reduce((sum, value) => sum + value.value, 0);
}

beforeAll(async () => {
  const nginxBinary = requireBinary('nginx');
  // Same keys and task queue: the two processes are replicas of one API.
  adminKey = `ops-nginx-${Date.now()}`;
  const shared = {
    CONDUIT_ADMIN_API_KEY: adminKey,
    CONDUIT_PAYLOAD_KEYS: formatKey(generateKey('payload')),
  };
  first = await startTestPlatform(shared, { worker: false });
  second = await startTestPlatform(
    { ...shared, TEMPORAL_TASK_QUEUE: first.config.temporal.taskQueue },
    { worker: false },
  );

  scratch = await mkdtemp(join(tmpdir(), 'conduit-nginx-'));
  // nginx workers drop root privileges and must reach their temp paths under this directory.
  await chmod(scratch, 0o755);
  const port = await freePort();
  const site = await readFile(join(projectRoot, 'deploy/nginx/conduit.conf'), 'utf8');
  expect(site, 'deploy/nginx/conduit.conf changed shape: update this test').toContain(UPSTREAM_LINE);
  expect(site).toContain('listen 80;');
  expect(site).toContain(ACCESS_LOG_LINE);
  const upstreams = [first, second]
    .map((platform) => UPSTREAM_LINE.replace('api:8080', new URL(platform.apiUrl).host))
    .join('\n    ');
  await writeFile(
    join(scratch, 'conduit.conf'),
    site
      .replace(UPSTREAM_LINE, upstreams)
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace(ACCESS_LOG_LINE, `access_log ${join(scratch, 'access.log')} conduit_json;`),
  );
  const temp = (name: string) => join(scratch, name);
  await writeFile(
    join(scratch, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${temp('nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 256; }',
      'http {',
      `  client_body_temp_path ${temp('client_body')};`,
      `  proxy_temp_path ${temp('proxy')};`,
      `  fastcgi_temp_path ${temp('fastcgi')};`,
      `  uwsgi_temp_path ${temp('uwsgi')};`,
      `  scgi_temp_path ${temp('scgi')};`,
      `  include ${temp('conduit.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-e', 'stderr', '-p', scratch, '-c', join(scratch, 'nginx.conf')];
  const syntax = runTool(nginxBinary, ['-t', ...args]);
  expect(syntax.status, syntax.output).toBe(0);
  nginx = supervise(nginxBinary, [...args, '-g', 'daemon off;']);
  proxyUrl = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (nginx.child.exitCode !== null) throw new Error(`nginx exited: ${nginx.output()}`);
      return (await fetch(`${proxyUrl}/healthz`)).ok || undefined;
    },
    15_000,
    'nginx to answer /healthz',
  );
});

afterAll(async () => {
  await nginx?.stop();
  if (!secondStopped) await second?.stop();
  await first?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('nginx in front of two API replicas', () => {
  it('spreads requests over both replicas and keeps /metrics off the public side', async () => {
    const before = [await healthzCount(first), await healthzCount(second)];
    for (let i = 0; i < 20; i++) expect((await fetch(`${proxyUrl}/healthz`)).status).toBe(200);
    const after = [await healthzCount(first), await healthzCount(second)];
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
    expect(after[0]! - before[0]! + (after[1]! - before[1]!)).toBe(20);
    expect((await fetch(`${proxyUrl}/metrics`)).status).toBe(404);
  });

  it('keeps answering /healthz and accepting messages with 200/202 after one replica dies', async () => {
    await second.stop();
    secondStopped = true;
    await expect(fetch(`${second.apiUrl}/healthz`)).rejects.toThrow();

    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await fetch(`${proxyUrl}/healthz`)).status);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    // nginx did try the dead replica and moved on (rather than never having picked it).
    expect(nginx.output()).toContain(`while connecting to upstream`);
    expect(nginx.output()).toContain(new URL(second.apiUrl).host);

    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${proxyUrl}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          message_id: `ops-nginx-${Date.now()}-${i}`,
          conversation_id: 'ops-nginx',
          sender: { id: 'ops-user' },
          text: '/echo through nginx',
        }),
      });
      expect(response.status).toBe(202);
    }
  });

  it('writes one JSON access-log line per request, with the request id and the replica that answered', async () => {
    await fetch(`${proxyUrl}/healthz`, { headers: { 'x-request-id': 'ops-nginx-log-check' } });
    const line = await eventually(async () => {
      const lines = (await readFile(join(scratch, 'access.log'), 'utf8')).trim().split('\n');
      return lines.find((candidate) => candidate.includes('ops-nginx-log-check'));
    });
    expect(JSON.parse(line)).toMatchObject({
      service: 'nginx',
      request_id: 'ops-nginx-log-check',
      method: 'GET',
      uri: '/healthz',
      status: 200,
      upstream_addr: new URL(first.apiUrl).host,
    });
  });
});
