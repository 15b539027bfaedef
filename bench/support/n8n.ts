// n8n as the peer scenario runs it: its own user folder (so its default SQLite database) in the scenario's temp
// directory, free ports, nothing sent home; the echo workflow imported and published with n8n's own CLI, then
// `n8n start`, ready once the production webhook answers.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../platform/free-port.js';
import { postJson } from './load.js';
import type { PeerInstall } from './peer-install.js';

export interface N8n {
  pid: number;
  webhookUrl: string;
  /** From `n8n start` to the first answer of the webhook. */
  startMs: number;
  logFile: string;
  stop(): Promise<void>;
}

const WORKFLOW_ID = 'cndtBenchEcho001';
const WEBHOOK_PATH = 'conduit-bench-echo';

/** Webhook (answered by a later node) → Code (the text after `/echo `) → Respond to Webhook (that item as JSON). */
export function echoWorkflow() {
  return {
    id: WORKFLOW_ID,
    name: 'Conduit bench: echo',
    active: false,
    nodes: [
      {
        id: randomUUID(),
        name: 'Webhook',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: randomUUID(),
        parameters: { httpMethod: 'POST', path: WEBHOOK_PATH, responseMode: 'responseNode', options: {} },
      },
      {
        id: randomUUID(),
        name: 'Echo',
        type: 'n8n-nodes-base.code',
        typeVersion: 2,
        position: [220, 0],
        parameters: {
          jsCode:
            "const text = String($input.first().json.body.text ?? '');\nreturn [{ json: { reply: text.replace(/^\\/echo\\s+/, '') } }];",
        },
      },
      {
        id: randomUUID(),
        name: 'Respond',
        type: 'n8n-nodes-base.respondToWebhook',
        typeVersion: 1.1,
        position: [440, 0],
        parameters: { respondWith: 'firstIncomingItem', options: {} },
      },
    ],
    connections: {
      Webhook: { main: [[{ node: 'Echo', type: 'main', index: 0 }]] },
      Echo: { main: [[{ node: 'Respond', type: 'main', index: 0 }]] },
    },
    settings: { executionOrder: 'v1' },
    pinData: {},
  };
}

export async function startN8n(install: PeerInstall, dir: string, progress: (line: string) => void): Promise<N8n> {
  const home = join(dir, 'n8n');
  await mkdir(home, { recursive: true });
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    // The database (database.sqlite, n8n's default) and the generated encryption key live here.
    N8N_USER_FOLDER: home,
    N8N_LISTEN_ADDRESS: '127.0.0.1',
    N8N_HOST: '127.0.0.1',
    N8N_PORT: String(port),
    N8N_PROTOCOL: 'http',
    // The Code node runs in a task runner child process that connects back to this broker port.
    N8N_RUNNERS_BROKER_PORT: String(await freePort()),
    N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
    // Defaults 3000 and 3001, on every interface: other people's servers on this machine may hold them.
    N8N_ENGINE_PORT: String(await freePort()),
    N8N_ENGINE_CONTROL_PLANE_PORT: String(await freePort()),
    // Nothing leaves the machine (it could not anyway) and no start-up time goes to trying.
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_HIRING_BANNER_ENABLED: 'false',
    N8N_DYNAMIC_BANNERS_ENABLED: 'false',
    N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
    N8N_COMMUNITY_PACKAGES_ENABLED: 'false',
    N8N_DIAGNOSTICS_CONFIG_FRONTEND: '',
    N8N_DIAGNOSTICS_CONFIG_BACKEND: '',
    // The MCP server registry refreshes itself from api.n8n.io; nothing else of n8n's defaults is switched off.
    N8N_DISABLED_MODULES: 'mcp-registry',
    // No Python runner: there is no Python venv for it, and the workflow's Code node is JavaScript.
    N8N_PYTHON_ENABLED: 'false',
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
    NODE_ENV: 'production',
  };
  const logFile = join(dir, 'n8n.log');
  const cli = async (args: string[]) => {
    const child = spawnN8n(install, args, env, logFile);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`n8n ${args.join(' ')} failed (exit ${code}); ${await tail(logFile)}`);
  };
  const file = join(dir, 'echo-workflow.json');
  await writeFile(file, JSON.stringify(echoWorkflow(), null, 2));
  progress(`peer: n8n ${install.n8nVersion}: importing and publishing the echo workflow`);
  await cli(['import:workflow', `--input=${file}`]);
  await cli(['publish:workflow', `--id=${WORKFLOW_ID}`]);

  const started = performance.now();
  const child = spawnN8n(install, ['start'], env, logFile);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const webhookUrl = `http://127.0.0.1:${port}/webhook/${WEBHOOK_PATH}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    const answer = await postJson(webhookUrl, JSON.stringify({ text: '/echo ready' }), {}, 5000).catch(() => undefined);
    if (answer?.status === 200 && answer.body.includes('ready')) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `n8n did not answer on ${webhookUrl} (last: ${answer ? `HTTP ${answer.status} ${answer.body.slice(0, 200)}` : 'no answer'}); ${await tail(logFile)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const startMs = performance.now() - started;
  progress(`peer: n8n answering on ${webhookUrl} after ${(startMs / 1000).toFixed(1)} s`);
  return { pid: child.pid!, webhookUrl, startMs, logFile, stop };
}

function spawnN8n(install: PeerInstall, args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const log = openSync(logFile, 'a');
  return spawn(install.node, [install.n8n, ...args], { cwd: env.N8N_USER_FOLDER, env, stdio: ['ignore', log, log] });
}

async function tail(logFile: string): Promise<string> {
  const lines = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-15);
  return `log ${logFile}:\n${lines.join('\n')}`;
}
