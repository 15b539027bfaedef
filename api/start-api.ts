// The API role on top of the shared services (platform/open-services.ts): the Hono app with its HTTP server,
// the WebSocket hub and gRPC for streaming clients, the DingTalk and Feishu stream connections, the audit
// chain monitor, the daily retention schedule and the bootstrap admin key.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { startAuditMonitor } from '../audit/monitor.js';
import { createStreamStatusBoard } from '../channels/stream-status.js';
import { apiOrigin, type Role, type RoleHandle, type Services, stopStack } from '../platform/open-services.js';
import { ensureRetentionSchedule } from '../privacy/retention-schedule.js';
import { createJwtVerifier } from '../security/jwt-verifier.js';
import { httpsServeOptions } from '../security/tls.js';
import { CREATE_ADMIN_KEY_HINT, createKeyVerifier, prepareBootstrapKey, storedKeyState } from './admin-keys.js';
import { createApp } from './app.js';
import { startChannelStreams } from './channel-streams.js';
import { createCredentialVerifier } from './credential-verifier.js';
import { startGrpcServer } from './grpc/server.js';
import { createStreamGuards } from './stream-guards.js';
import { attachWebSocketHub } from './websocket/hub.js';

export const apiRole: Role = {
  ports: (config) => [
    { port: config.api.port, host: config.api.host, setting: 'PORT' },
    ...(config.grpc ? [{ port: config.grpc.port, host: config.grpc.host, setting: 'GRPC_PORT' }] : []),
  ],
  start: startApi,
};

export async function startApi(services: Services): Promise<RoleHandle> {
  const { config, database, temporal, blobs, channels, logger, metrics, channelDeps, dataDiskGuard } = services;
  const stack = stopStack(logger);
  try {
    // API keys, and identity-provider JWTs when OIDC_ISSUER is set: one verifier for HTTP, WebSocket, gRPC.
    const jwt = config.security.oidc ? createJwtVerifier(config.security.oidc) : undefined;
    const verifyApiKey = createCredentialVerifier({
      apiKeys: createKeyVerifier(database.db, config.adminApiKey),
      jwt,
      logger,
    });
    // With no key configured and none stored, a bootstrap admin key is made; it is stored only after the start
    // has shown it (afterAnnounce). A start that finds keys but no live admin key says how to make one.
    let bootstrap: ReturnType<typeof prepareBootstrapKey> | undefined;
    if (!config.adminApiKey) {
      const state = await storedKeyState(database.db);
      if (state === 'empty') bootstrap = prepareBootstrapKey(database.db);
      if (state === 'no-admin') services.progress(`no admin API key is configured or stored: ${CREATE_ADMIN_KEY_HINT}`);
    }
    // The audit chain is verified now and every five minutes (conduit_audit_chain_valid); the daily retention
    // purge is a Temporal Schedule, created or brought up to date by every API start.
    const auditMonitor = startAuditMonitor({ db: database.db, metrics, logger });
    stack.push(() => auditMonitor.stop());
    await ensureRetentionSchedule(temporal, config.temporal.taskQueue).catch((error) =>
      logger.warn({ err: error }, 'cannot create or update the daily retention purge schedule'),
    );
    const streamStatus = createStreamStatusBoard();
    const app = createApp({
      config,
      temporal,
      database,
      blobs,
      channels,
      logger,
      metrics,
      verifyApiKey,
      jwt,
      auditMonitor,
      // The dev server was started with this API's /codec as its UI's codec endpoint (scripts/conduit.ts).
      embeddedTemporalUiUrl: services.devServer?.uiUrl,
      capacity: dataDiskGuard,
      streamStatus: () => streamStatus.list(),
      modelProviders: () => services.modelProviders.read?.(),
    });
    const server = await listen(
      app.fetch,
      config.api.host,
      config.api.port,
      await httpsServeOptions(config.security.tls),
    );
    stack.push(() => closeServer(server));
    // GET /v1/ws and gRPC: streaming clients, stopped before the database they read events from.
    const hubDeps = {
      temporal,
      taskQueue: config.temporal.taskQueue,
      db: database.db,
      blobs,
      verifyApiKey,
      guards: createStreamGuards(config.security),
      logger,
      metrics,
      capacity: dataDiskGuard,
    };
    const webSocketHub = attachWebSocketHub(server as Server, hubDeps);
    stack.push(() => webSocketHub.close());
    let grpcAddress: string | undefined;
    if (config.grpc) {
      const grpcServer = await startGrpcServer(config.grpc.host, config.grpc.port, hubDeps, config.security.tls);
      stack.push(() => grpcServer.stop());
      grpcAddress = grpcServer.address;
    }
    // DingTalk Stream mode and the Feishu long connection: chat ingress without a public address.
    const streams = await startChannelStreams({
      config,
      temporal,
      blobs,
      logger,
      metrics,
      channelDeps,
      capacity: dataDiskGuard,
      status: streamStatus,
    });
    stack.push(() => streams.stop());
    const port = (server.address() as AddressInfo).port;
    const origin = apiOrigin(config);
    const apiUrl = port === config.api.port ? origin : origin.replace(/:\d+$/, `:${port}`);
    return {
      apiUrl,
      metricsUrl: config.metrics.enabled ? `${apiUrl}/metrics` : undefined,
      grpcAddress,
      bootstrapAdminKey: bootstrap?.key,
      afterAnnounce: bootstrap?.store,
      stop: stack.stop,
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
  https?: Awaited<ReturnType<typeof httpsServeOptions>>,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, ...https }, () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`PORT ${port} on ${hostname} is already in use`) : error),
    );
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    // A proxy keeps its keep-alive connections busy, so close() alone would wait for ever (until the process is
    // killed and the requests in flight are reset: a 502 at nginx). From now on each answer says
    // `Connection: close`, so every connection ends cleanly after the request it carries.
    server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
      response.shouldKeepAlive = false;
    });
    server.close(() => resolve());
    // Keep-alive connections would hold close() open; idle ones are dropped now.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
