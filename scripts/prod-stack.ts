// The production topology on one machine, for real: the Temporal server (built from go.temporal.io/server) on
// the machine's PostgreSQL with its schema set up by Temporal's own SQL tool, MinIO, two API processes behind
// nginx (deploy/nginx/conduit.conf) and two worker processes, each its own OS process configured only through the
// environment, as docker-compose.yml and deploy/k8s run them. `npm run stack:prod` runs it until Ctrl-C; the
// fault suite (test/faults/) and the benchmarks start it to break it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import postgres from 'postgres';
import { stopProcess } from '../platform/child-process.js';
import { freePort, freePortBelow } from '../platform/free-port.js';
import {
  acquireGoTool,
  type GoToolSpec,
  type Progress,
  TEMPORAL_SERVER_VERSION,
  temporalServerSpec,
  temporalSqlToolSpec,
} from '../platform/go-tool.js';
import { startMinio } from '../platform/minio-server.js';
import { nodeProcessEnv } from '../platform/node-process-env.js';
import { formatKey, generateKey } from '../security/key-list.js';

export interface ProdStackOptions {
  projectRoot: string;
  /** Where configuration, logs, MinIO data and each process's data directory live. */
  dir: string;
  /** Prefix of the three PostgreSQL databases (Conduit, Temporal, Temporal visibility). */
  databasePrefix?: string;
  /** The machine's PostgreSQL, as a superuser that may create databases. */
  postgresUrl?: string;
  /**
   * `host:port` the Temporal server and the Conduit processes reach PostgreSQL at, when it is not postgresUrl's
   * (a proxy in front of it: the fault suite cuts it there). The databases are still created through postgresUrl.
   */
  postgresAddress?: string;
  /**
   * Connections the Temporal server keeps to its own database (default 20; visibility takes 4 more). The fault
   * suite asks for fewer: it shares the machine's PostgreSQL, and its max_connections, with other stacks.
   */
  temporalConnections?: number;
  apiReplicas?: number;
  workerReplicas?: number;
  /** Added to every Conduit process's environment (model, channel secrets, …). */
  env?: Record<string, string>;
  /**
   * Added to one Conduit process's environment, by its name (`api-1`, `worker-2`, …), after env: the fault suite
   * gives each worker its own model API key, so a fake vendor can tell which worker called it.
   */
  processEnv?: (name: string) => Record<string, string>;
  /** Port nginx listens on; a free one when unset. */
  port?: number;
  progress?: Progress;
}

/** One Conduit or Temporal OS process, restartable with the same arguments and ports. */
export interface StackProcess {
  name: string;
  /** Base URL of its HTTP endpoints (/healthz, /readyz, /metrics); the frontend address for Temporal. */
  url: string;
  /** Temporal: its Prometheus endpoint (compose's PROMETHEUS_ENDPOINT). */
  metricsUrl?: string;
  readonly child: ChildProcess | undefined;
  start(): Promise<void>;
  /** SIGKILL, no drain: a crash. */
  kill(): Promise<void>;
  /** SIGTERM and wait: a deploy. */
  stop(): Promise<void>;
}

export interface ProdStack {
  /** nginx in front of the API replicas: the address clients use. */
  url: string;
  temporalAddress: string;
  adminKey: string;
  databaseUrl: string;
  /** The environment every Conduit process shares (keys, addresses). */
  env: Record<string, string>;
  temporal: StackProcess;
  apis: StackProcess[];
  workers: StackProcess[];
  nginx: StackProcess;
  /** MinIO, the object store; start() after stop() brings it back on the same port and data directory. */
  minio: StackProcess;
  stop(): Promise<void>;
  /** Drops the stack's databases (tests); call after stop. */
  dropDatabases(): Promise<void>;
}

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export async function startProdStack(options: ProdStackOptions): Promise<ProdStack> {
  const progress = options.progress ?? (() => undefined);
  const prefix = options.databasePrefix ?? 'conduit_prod';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(`database prefix ${prefix}: lowercase letters, digits, _`);
  const postgresUrl = options.postgresUrl ?? DEFAULT_POSTGRES_URL;
  const serviceUrl = options.postgresAddress ? withAddress(postgresUrl, options.postgresAddress) : postgresUrl;
  const databases = { conduit: prefix, temporal: `${prefix}_temporal`, visibility: `${prefix}_temporal_visibility` };
  await mkdir(join(options.dir, 'logs'), { recursive: true });
  const started: StackProcess[] = [];
  const stopAll = async () => {
    for (const process of started.reverse()) await process.stop().catch(() => undefined);
    started.length = 0;
  };

  try {
    const [server, sqlTool] = await Promise.all([
      requireTool(options.projectRoot, temporalServerSpec, progress),
      requireTool(options.projectRoot, temporalSqlToolSpec, progress),
    ]);
    const fresh = await createDatabases(postgresUrl, Object.values(databases));
    await setUpTemporalSchema(sqlTool, postgresUrl, databases, fresh, progress);

    const temporal = await temporalServerProcess(
      server,
      options.projectRoot,
      options.dir,
      serviceUrl,
      databases,
      options.temporalConnections ?? 20,
    );
    started.push(temporal);
    await temporal.start();
    await registerNamespace(temporal.url, 'default');
    progress(`Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL at ${temporal.url}`);

    // Fixed ports: a MinIO stopped and started again (the fault suite's case 3) is where the processes expect it.
    const minioDir = join(options.dir, 'minio');
    const minioPorts = { port: await freePort(), consolePort: await freePort() };
    let minio = await startMinio(options.projectRoot, minioDir, progress, minioPorts);
    let minioUp = true;
    const objectStore: StackProcess = {
      name: 'minio',
      url: minio.endpoint,
      child: undefined,
      async start() {
        if (minioUp) return;
        minio = await startMinio(options.projectRoot, minioDir, progress, minioPorts);
        minioUp = true;
      },
      kill: async () => objectStore.stop(),
      async stop() {
        minioUp = false;
        await minio.stop();
      },
    };
    started.push(objectStore);

    const shared = await sharedEnvironment(options.dir, {
      TEMPORAL_ADDRESS: temporal.url,
      DATABASE_URL: withDatabase(serviceUrl, databases.conduit),
      S3_ENDPOINT: minio.endpoint,
      S3_ACCESS_KEY: minio.accessKey,
      S3_SECRET_KEY: minio.secretKey,
      S3_BUCKET: 'conduit',
      // nginx on this machine is the only proxy whose X-Forwarded-For is believed.
      TRUSTED_PROXIES: '127.0.0.1',
      ...options.env,
    });

    const apis: StackProcess[] = [];
    for (let index = 1; index <= (options.apiReplicas ?? 2); index++) {
      const port = await freePort();
      apis.push(
        conduitProcess(options, `api-${index}`, 'api/server.ts', `http://127.0.0.1:${port}`, {
          ...shared,
          PORT: String(port),
        }),
      );
    }
    const workers: StackProcess[] = [];
    for (let index = 1; index <= (options.workerReplicas ?? 2); index++) {
      const port = await freePort();
      workers.push(
        conduitProcess(options, `worker-${index}`, 'workers/main.ts', `http://127.0.0.1:${port}`, {
          ...shared,
          METRICS_PORT: String(port),
        }),
      );
    }
    // The first API migrates the database alone; the others then start side by side.
    const [first, ...rest] = apis;
    if (first) {
      started.push(first);
      await first.start();
    }
    started.push(...rest, ...workers);
    await Promise.all([...rest, ...workers].map((process) => process.start()));
    progress(`${apis.length} API and ${workers.length} worker processes ready`);

    const nginx = await nginxProcess(options, apis);
    started.push(nginx);
    await nginx.start();

    return {
      url: nginx.url,
      temporalAddress: temporal.url,
      adminKey: shared.CONDUIT_ADMIN_API_KEY as string,
      databaseUrl: shared.DATABASE_URL as string,
      env: shared,
      temporal,
      apis,
      workers,
      nginx,
      minio: objectStore,
      stop: stopAll,
      dropDatabases: () => dropDatabases(postgresUrl, Object.values(databases)),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function requireTool(projectRoot: string, spec: GoToolSpec, progress: Progress): Promise<string> {
  const tool = await acquireGoTool(projectRoot, spec, progress);
  if (!tool) throw new Error(`${spec.label}: not on PATH, not in .tools/bin, and no Go toolchain to build it`);
  return tool.path;
}

function withAddress(url: string, address: string): string {
  const parsed = new URL(url);
  parsed.host = address;
  return parsed.toString();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates the databases that are missing; true when all were new (the schema then needs setting up). */
async function createDatabases(postgresUrl: string, names: string[]): Promise<boolean> {
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
  try {
    let created = 0;
    for (const name of names) {
      const [row] = await sql`select 1 as present from pg_database where datname = ${name}`;
      if (row) continue;
      await sql.unsafe(`create database "${name}"`);
      created++;
    }
    return created === names.length;
  } finally {
    await sql.end();
  }
}

async function dropDatabases(postgresUrl: string, names: string[]): Promise<void> {
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
  try {
    for (const name of names) await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end();
  }
}

/**
 * Temporal's own schema tool sets the schema up on new databases and brings it to this server version's on old
 * ones (update-schema is idempotent), exactly as the auto-setup image does in docker-compose.yml.
 */
async function setUpTemporalSchema(
  sqlTool: string,
  postgresUrl: string,
  databases: { temporal: string; visibility: string },
  fresh: boolean,
  progress: Progress,
): Promise<void> {
  const url = new URL(postgresUrl);
  const schemaRoot = temporalSchemaRoot();
  const base = [
    '--plugin',
    'postgres12',
    '--ep',
    url.hostname,
    '-p',
    url.port || '5432',
    '-u',
    url.username || 'postgres',
  ];
  if (url.password) base.push('--pw', decodeURIComponent(url.password));
  for (const [database, schema] of [
    [databases.temporal, 'temporal'],
    [databases.visibility, 'visibility'],
  ] as const) {
    const run = (args: string[]) =>
      execFileSync(sqlTool, [...base, '--db', database, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (fresh) run(['setup-schema', '-v', '0.0']);
    run(['update-schema', '-d', join(schemaRoot, schema, 'versioned')]);
  }
  progress(`Temporal schema ${fresh ? 'set up' : 'up to date'} in ${databases.temporal}, ${databases.visibility}`);
}

/** The server module's versioned PostgreSQL schema, from the Go module cache (`go install` put it there). */
function temporalSchemaRoot(): string {
  const fromEnv = process.env.TEMPORAL_SCHEMA_DIR;
  if (fromEnv) return fromEnv;
  const cache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const root = join(cache, `go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`, 'schema/postgresql/v12');
  if (!existsSync(root)) {
    throw new Error(`Temporal's PostgreSQL schema is not in ${root}: set TEMPORAL_SCHEMA_DIR to schema/postgresql/v12`);
  }
  return root;
}

async function temporalServerProcess(
  server: string,
  projectRoot: string,
  dir: string,
  postgresUrl: string,
  databases: { temporal: string; visibility: string },
  connections: number,
): Promise<StackProcess> {
  const url = new URL(postgresUrl);
  // Temporal stores membership ports in a smallint column: every port of the server stays below 32768.
  const port = () => freePortBelow(32_768);
  const [frontend, frontendHttp, history, matching, worker] = [
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
  ];
  const membership = { frontend: await port(), history: await port(), matching: await port(), worker: await port() };
  const metricsPort = await port();
  const root = join(dir, 'temporal');
  await mkdir(join(root, 'config', 'dynamicconfig'), { recursive: true });
  const store = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${url.hostname}:${url.port || '5432'}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(url.username || 'postgres'),
      password: decodeURIComponent(url.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: Record<string, number> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  // JSON is YAML: the server reads this file as its config template.
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: { default: store(databases.temporal, connections), visibility: store(databases.visibility, 4) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      // As compose's PROMETHEUS_ENDPOINT: server metrics (cache sizes, backlogs) for Prometheus and the benchmarks.
      metrics: { prometheus: { timerType: 'histogram', listenAddress: `127.0.0.1:${metricsPort}` } },
    },
    services: {
      frontend: rpc(frontend, membership.frontend, { httpPort: frontendHttp }),
      history: rpc(history, membership.history),
      matching: rpc(matching, membership.matching),
      worker: rpc(worker, membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${frontend}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: join(root, 'config', 'dynamicconfig', 'conduit.yaml'), pollInterval: '10s' },
  };
  await writeFile(join(root, 'config', 'conduit.yaml'), `${JSON.stringify(config, null, 2)}\n`);
  // The compose file's server mounts the same dynamic configuration (its history cache bound among others).
  await copyFile(
    join(projectRoot, 'deploy/temporal/dynamicconfig.yaml'),
    join(root, 'config', 'dynamicconfig', 'conduit.yaml'),
  );
  const address = `127.0.0.1:${frontend}`;
  return managedProcess({
    name: 'temporal',
    url: address,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    log: join(dir, 'logs', 'temporal.log'),
    command: server,
    args: ['--root', root, '--config', 'config', '--env', 'conduit', '--allow-no-auth', 'start'],
    ready: () => temporalServing(address),
    readyWithinMs: 60_000,
  });
}

async function temporalServing(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000 });
    const { status } = await connection.healthService.check({});
    return status === 1; // SERVING
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function registerNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('3 days'),
    });
    // The frontend caches namespaces for a few seconds; a start before it knows the new one is refused.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

/**
 * Keys every replica must share, generated once into the stack's directory (as an operator would put them in a
 * Secret), so a restarted stack reads its earlier runs.
 */
async function sharedEnvironment(dir: string, env: Record<string, string>): Promise<Record<string, string>> {
  const file = join(dir, 'shared.env.json');
  let secrets: Record<string, string>;
  if (existsSync(file)) {
    secrets = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  } else {
    secrets = {
      CONDUIT_PAYLOAD_KEYS: formatKey(generateKey('payload')),
      CONDUIT_ADMIN_API_KEY: `cdt_${randomBytes(24).toString('base64url')}`,
    };
    await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  }
  return { LOG_LEVEL: 'info', ...secrets, ...env };
}

function conduitProcess(
  options: ProdStackOptions,
  name: string,
  entry: string,
  url: string,
  env: Record<string, string>,
): StackProcess {
  return managedProcess({
    name,
    url,
    log: join(options.dir, 'logs', `${name}.log`),
    command: process.execPath,
    args: ['--import', 'tsx', entry],
    cwd: options.projectRoot,
    env: {
      ...process.env,
      ...nodeProcessEnv(),
      ...env,
      ...options.processEnv?.(name),
      CONDUIT_DATA_DIR: join(options.dir, name),
    },
    ready: async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
    readyWithinMs: 90_000,
  });
}

async function nginxProcess(options: ProdStackOptions, apis: StackProcess[]): Promise<StackProcess> {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
  if (!nginx) throw new Error('nginx is not installed: apt-get install -y nginx (.ci/run does this)');
  const root = join(options.dir, 'nginx');
  await mkdir(root, { recursive: true });
  // nginx workers drop root privileges and must reach their temp paths: a request body over nginx's buffer (16 KB)
  // goes to client_body/, and a stack directory only its owner may enter (mkdtemp's 0700, as the fault suite's)
  // made every such webhook a 500. Others may now pass through it (o+x), still not list it.
  await chmod(options.dir, (await stat(options.dir)).mode | 0o011);
  await chmod(root, 0o755);
  const port = options.port ?? (await freePort());
  const site = await readFile(join(options.projectRoot, 'deploy/nginx/conduit.conf'), 'utf8');
  // One `server` line per replica, with the options the file gives its own.
  const upstreamLine = /server api:8080([^;]*);/.exec(site)?.[1] ?? '';
  const upstreams = apis.map((api) => `server ${new URL(api.url).host}${upstreamLine};`).join('\n    ');
  await writeFile(
    join(root, 'conduit.conf'),
    site
      .replace(/server api:8080[^;]*;/, upstreams)
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace(/access_log \/dev\/stdout/, `access_log ${join(root, 'access.log')}`),
  );
  const temp = (name: string) => join(root, name);
  await writeFile(
    join(root, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${temp('nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 1024; }',
      'http {',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${temp(kind)};`),
      `  include ${temp('conduit.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  return managedProcess({
    name: 'nginx',
    url,
    log: join(options.dir, 'logs', 'nginx.log'),
    command: nginx,
    args: ['-e', 'stderr', '-p', root, '-c', join(root, 'nginx.conf'), '-g', 'daemon off;'],
    ready: async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
    readyWithinMs: 15_000,
  });
}

interface ManagedProcessSpec {
  name: string;
  url: string;
  metricsUrl?: string;
  log: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  ready: () => Promise<boolean>;
  readyWithinMs: number;
}

const START_ATTEMPTS = 3;

function managedProcess(spec: ManagedProcessSpec): StackProcess {
  let child: ChildProcess | undefined;
  const waitForExit = (target: ChildProcess) =>
    target.exitCode !== null || target.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => target.once('exit', () => resolve()));
  /** Spawns the process and waits until it is ready (undefined) or has exited (its exit code). */
  const startOnce = async (): Promise<number | undefined> => {
    const log = createWriteStream(spec.log, { flags: 'a' });
    const current = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = current;
    current.stdout?.pipe(log);
    current.stderr?.pipe(log);
    const deadline = Date.now() + spec.readyWithinMs;
    while (Date.now() < deadline) {
      if (current.exitCode !== null) return current.exitCode;
      if (await spec.ready()) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`${spec.name} was not ready within ${spec.readyWithinMs / 1000}s (log: ${spec.log})`);
  };
  return {
    name: spec.name,
    url: spec.url,
    metricsUrl: spec.metricsUrl,
    get child() {
      return child;
    },
    async start() {
      // Like compose's restart policy: a process that exits while starting (PostgreSQL refusing a connection to the
      // migration with "too many clients", on a machine other stacks share) is started again, twice at most.
      for (let attempt = 1; ; attempt++) {
        const exited = await startOnce();
        if (exited === undefined) return;
        if (attempt === START_ATTEMPTS) {
          throw new Error(`${spec.name} exited with code ${exited} while starting (log: ${spec.log})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    },
    async kill() {
      if (!child) return;
      child.kill('SIGKILL');
      await waitForExit(child);
    },
    async stop() {
      if (child) await stopProcess(child);
    },
  };
}
