// The embedded Temporal dev server is supervised: SIGKILLed under a running instance (one started by the
// platform itself, not the shared test server), it is back within seconds on the same ports and data file, the
// worker and the client reconnect, /readyz returns to 200 and a run completes; meanwhile /healthz, /metrics
// and reads from the database keep answering.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../platform/config.js';
import { freePort } from '../platform/free-port.js';
import { checkPorts, PortInUseError } from '../platform/ports.js';
import { pidFile, startDevServer } from '../platform/temporal-dev-server.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';
import { metricValue } from './support/runs.js';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({
    TEMPORAL_ADDRESS: '',
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
  });
}, 120_000);
afterAll(async () => {
  await platform?.stop();
});

async function echo(text: string) {
  const started = performance.now();
  const response = await platform.api('/v1/messages?wait=10', {
    method: 'POST',
    body: JSON.stringify({ conversation_id: 'supervision', sender: { id: 'u1' }, text: `/echo ${text}` }),
  });
  const body = (await response.json()) as { result?: { reply?: string; outcome?: string } };
  return { status: response.status, body, ms: performance.now() - started };
}

async function timedFetch(path: string, init?: RequestInit) {
  const started = performance.now();
  const response = await fetch(`${platform.apiUrl}${path}`, init);
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

describe('the embedded Temporal dev server', () => {
  it('is restarted after a SIGKILL; readiness and runs come back, health and metrics never leave', async () => {
    const devServer = platform.devServer!;
    expect(devServer).toBeDefined();
    expect(platform.temporalAddress).toBe(devServer.address);
    const before = await echo('before');
    expect(before).toMatchObject({ status: 200, body: { result: { reply: 'before', outcome: 'replied' } } });

    const killedPid = devServer.pid!;
    const killedAt = performance.now();
    process.kill(killedPid, 'SIGKILL');

    // While it is down or coming back: liveness, metrics and database reads answer at once.
    const auth = { authorization: `Bearer ${platform.adminKey}` };
    const meanwhile = [
      await timedFetch('/healthz'),
      await timedFetch('/metrics'),
      await timedFetch('/v1/jobs?owner=u1&channel=api', { headers: auth }),
    ];
    for (const answer of meanwhile) {
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(1000);
    }

    await eventually(
      async () => ((await fetch(`${platform.apiUrl}/readyz`)).status === 200 ? true : undefined),
      30_000,
      '/readyz to answer 200 again',
    );
    const readyMs = performance.now() - killedAt;
    expect(devServer.pid).toBeDefined();
    expect(devServer.pid).not.toBe(killedPid);
    expect(devServer.restarts).toBe(1);
    expect(await metricValue(platform, 'conduit_temporal_dev_server_restarts_total')).toBe(1);

    const after = await echo('after');
    const totalMs = performance.now() - killedAt;
    console.error(
      `supervision: ready again ${Math.round(readyMs)} ms after SIGKILL; run after it ${Math.round(after.ms)} ms; total ${Math.round(totalMs)} ms`,
    );
    expect(after).toMatchObject({ status: 200, body: { result: { reply: 'after', outcome: 'replied' } } });
    // Measured on the 2-core machine: ready again 1.1-2.0 s after the kill, the run after it 80-200 ms.
    expect(readyMs).toBeLessThan(10_000);
    expect(after.ms).toBeLessThan(5_000);
  });

  it('waits longer between restarts while it keeps dying, then comes back', async () => {
    const devServer = platform.devServer!;
    const restartsBefore = devServer.restarts;
    const pauses: number[] = [];
    let pid = devServer.pid!;
    const port = Number(devServer.address.split(':')[1]);
    for (let kill = 0; kill < 3; kill += 1) {
      process.kill(pid, 'SIGKILL');
      const killedAt = performance.now();
      const previous = pid;
      if (kill === 0) {
        // While it is down the platform holds the port: nothing else (another instance starting) can take it.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await expect(checkPorts([{ port, host: '127.0.0.1', setting: 'TEMPORAL_DEV_PORT' }])).rejects.toThrow(
          PortInUseError,
        );
      }
      pid = await eventually(
        async () => (devServer.pid !== undefined && devServer.pid !== previous ? devServer.pid : undefined),
        30_000,
        'the next server process',
      );
      pauses.push(performance.now() - killedAt);
    }
    console.error(`supervision: pauses before the restarts ${pauses.map((ms) => Math.round(ms)).join(', ')} ms`);
    // The pause doubles (0.5 s, 1 s, 2 s, 4 s, ... up to 30 s) while the server has not stayed up a minute.
    expect(pauses[0]).toBeGreaterThanOrEqual(450);
    expect(pauses[1]).toBeGreaterThan(pauses[0]! * 1.5);
    expect(pauses[2]).toBeGreaterThan(pauses[1]! * 1.5);
    expect(devServer.restarts).toBe(restartsBefore + 3);
    expect(await metricValue(platform, 'conduit_temporal_dev_server_restarts_total')).toBe(restartsBefore + 3);

    await eventually(
      async () => ((await fetch(`${platform.apiUrl}/readyz`)).status === 200 ? true : undefined),
      30_000,
      '/readyz to answer 200 again',
    );
    expect(await echo('still here')).toMatchObject({
      status: 200,
      body: { result: { reply: 'still here', outcome: 'replied' } },
    });
  });
});

/** Starts a dev server from a separate node process and SIGKILLs that process; resolves to the server's pid. */
async function startAndAbandonDevServer(dataDir: string, ports: { port: number; uiPort: number }) {
  const settings = JSON.stringify({
    projectRoot,
    dataDir,
    ...ports,
    namespace: 'default',
    cliVersion: loadConfig({}).temporal.cliVersion,
  });
  const script = [
    `import { startDevServer } from './platform/temporal-dev-server.ts';`,
    `const server = await startDevServer({ ...${settings}, progress: () => undefined });`,
    `console.log('PID ' + server.pid);`,
    'setInterval(() => undefined, 1000);',
  ].join('\n');
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  owner.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const pid = await eventually(async () => /PID (\d+)/.exec(output)?.[1], 60_000, 'the abandoned dev server');
  owner.kill('SIGKILL');
  await new Promise((resolve) => owner.once('exit', resolve));
  return Number(pid);
}

describe('a dev server left running by a killed start', () => {
  it('is stopped by the next start on the same data directory, which then takes its ports', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'conduit-leftover-'));
    const ports = { port: await freePort(), uiPort: await freePort() };
    try {
      // What a SIGKILLed Conduit leaves behind: its dev server, still holding the ports and the data file.
      const leftoverPid = await startAndAbandonDevServer(dataDir, ports);
      const progress: string[] = [];
      const next = await startTestPlatform(
        {
          CONDUIT_DATA_DIR: dataDir,
          TEMPORAL_ADDRESS: '',
          TEMPORAL_DEV_PORT: String(ports.port),
          TEMPORAL_UI_PORT: String(ports.uiPort),
        },
        { progress: (line) => progress.push(line) },
      ).catch(async (error: Error) => {
        const alive = (() => {
          try {
            return process.kill(leftoverPid, 0);
          } catch {
            return false;
          }
        })();
        // What the next start went by (seen failing once under the full suite's load, never alone): the pid file
        // and the command line it checks before it stops anything.
        const read = (path: string) => readFile(path, 'utf8').catch((cause: Error) => `unreadable (${cause.message})`);
        const pidFileContent = await read(pidFile(dataDir));
        const commandLine = (await read(`/proc/${leftoverPid}/cmdline`)).split('\0').join(' ');
        throw new Error(
          [
            error.message,
            `leftover pid ${leftoverPid} alive: ${alive}`,
            `pid file: ${pidFileContent.trim()}`,
            `its command line: ${commandLine}`,
            ...progress,
          ].join('\n'),
        );
      });
      try {
        expect(progress).toContain(
          `Temporal dev server: stopping pid ${leftoverPid}, left running on this data directory by an earlier start`,
        );
        expect(next.devServer!.pid).not.toBe(leftoverPid);
        expect(() => process.kill(leftoverPid, 0)).toThrow();
        const response = await next.api('/v1/messages?wait=10', {
          method: 'POST',
          body: JSON.stringify({ conversation_id: 'leftover', sender: { id: 'u1' }, text: '/echo again' }),
        });
        expect(await response.json()).toMatchObject({ result: { reply: 'again', outcome: 'replied' } });
      } finally {
        await next.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a dev server that cannot take its port', () => {
  it('fails its start instead of taking the server already on that port for its own', async () => {
    // The shared test server plays another instance's Temporal on the port this one asks for. Without the port
    // check first (which startRoles does), the new server exits on the busy port; the readiness probe must not
    // mistake the other server, which answers on that port, for it.
    const dataDir = await mkdtemp(join(tmpdir(), 'conduit-busy-'));
    try {
      const otherPort = Number(inject('temporalAddress').split(':').at(-1));
      await expect(
        startDevServer({
          projectRoot,
          dataDir,
          port: otherPort,
          uiPort: await freePort(),
          namespace: 'default',
          cliVersion: loadConfig({}).temporal.cliVersion,
          progress: () => undefined,
        }),
      ).rejects.toThrow(/Temporal dev server exited with code \d+ before it was ready/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
