// The gRPC face of the hub (grpc/conduit.proto, served on GRPC_PORT): SendMessage starts a run as the `grpc`
// channel through the same door as every channel, WatchRun streams the run's events from the event log.
// Every call passes /v1's guards: IP allowlist, rate limits, the bearer credential in the `authorization`
// metadata, and the permission the call needs (messages:send, runs:read).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GRPC_CHANNEL } from '../../channels/grpc/adapter.js';
import { BadRequestError, ForbiddenError, UnavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { messageInputSchema, toInboundMessage } from '../../core/message-input.js';
import { describeIssue } from '../../core/validation.js';
import { type AcceptedMessage, acceptMessage, noteRefused } from '../../runs/accept-message.js';
import { isRunOpen, runState } from '../../runs/is-run-open.js';
import { followRunEvents, hasRunEvents, type RunEventFollower } from '../../runs/run-event-feed.js';
import type { Permission } from '../../security/rbac.js';
import type { SecuritySettings } from '../../security/settings.js';
import type { Principal } from '../admin-keys.js';
import { MAX_API_BODY_BYTES } from '../middleware/body-limit.js';
import { type BoundSender, bindSender } from '../sender-identity.js';
import { createSendGate } from '../stream-backpressure.js';
import { may, type StreamEndpointDeps } from '../stream-guards.js';

export const PROTO_PATH = fileURLToPath(new URL('./conduit.proto', import.meta.url));
/** Field names as written in the proto; int64 as decimal strings (event ids outgrow nothing, but JS numbers could). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

interface SendMessageRequest {
  message_id: string;
  conversation_id: string;
  conversation_type: string;
  sender: { id: string; name: string } | null;
  text: string;
}
interface SendMessageResponse {
  workflow_id: string;
  run_id: string;
  duplicate: boolean;
}
interface WatchRunRequest {
  workflow_id: string;
  after_event_id: string;
}
interface RunEventMessage {
  id: string;
  workflow_id: string;
  type: string;
  data_json: string;
  at: string;
}

export type GrpcServerDeps = StreamEndpointDeps;

export interface RunningGrpcServer {
  /** host:port the server listens on. */
  address: string;
  stop(): Promise<void>;
}

export function loadConduitService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
  return definition['conduit.v1.Conduit'] as grpc.ServiceDefinition;
}

/** The status of a WatchRun cut off because its client stopped reading; it resumes with its last event id. */
export const SLOW_CLIENT_DETAILS =
  'send buffer full: the client is not reading; call WatchRun again with after_event_id';

const grpcError = (code: grpc.status, details: string): grpc.ServerErrorResponse =>
  Object.assign(new Error(details), { code, details });

/**
 * Serves conduit.v1.Conduit on host:port. With `tls` (the API's TLS_CERT_FILE and TLS_KEY_FILE), it serves TLS
 * with the same certificate, and with TLS_CLIENT_CA_FILE it requires client certificates that CA signed.
 */
export async function startGrpcServer(
  host: string,
  port: number,
  deps: GrpcServerDeps,
  tls?: SecuritySettings['tls'],
): Promise<RunningGrpcServer> {
  const logger = deps.logger.child({ channel: GRPC_CHANNEL });
  const now = deps.now ?? (() => new Date());
  const watches = new Set<{ follower: RunEventFollower; call: grpc.ServerWritableStream<WatchRunRequest, unknown> }>();

  /**
   * The caller's principal when the call passes the guards; otherwise PERMISSION_DENIED (address, role),
   * RESOURCE_EXHAUSTED (rate), UNAUTHENTICATED (credential) or UNAVAILABLE (the key store cannot answer).
   */
  const authorize = async (
    call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer'>,
    permission: Permission,
  ): Promise<Principal> => {
    const { guards } = deps;
    const [forwardedFor] = call.metadata.get('x-forwarded-for');
    const address = guards.clientAddress(
      peerAddress(call.getPeer()),
      typeof forwardedFor === 'string' ? forwardedFor : undefined,
    );
    if (!guards.allows(address)) {
      throw grpcError(grpc.status.PERMISSION_DENIED, 'requests from this address are not allowed');
    }
    const fromAddress = guards.takeForAddress(address);
    if (!fromAddress.ok) {
      throw grpcError(
        grpc.status.RESOURCE_EXHAUSTED,
        `too many requests from this address; retry in ${fromAddress.retryAfterSeconds} s`,
      );
    }
    const principal = await authenticate(call.metadata);
    const forCredential = guards.takeForCredential(principal);
    if (!forCredential.ok) {
      throw grpcError(
        grpc.status.RESOURCE_EXHAUSTED,
        `too many requests for this credential; retry in ${forCredential.retryAfterSeconds} s`,
      );
    }
    if (!may(principal, permission)) {
      throw grpcError(grpc.status.PERMISSION_DENIED, `role ${principal.role} lacks the ${permission} permission`);
    }
    return principal;
  };

  const authenticate = async (metadata: grpc.Metadata): Promise<Principal> => {
    const [header] = metadata.get('authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(typeof header === 'string' ? header : '');
    if (!match) throw grpcError(grpc.status.UNAUTHENTICATED, 'missing bearer token');
    let principal: Principal | undefined;
    try {
      principal = await deps.verifyApiKey(match[1]!);
    } catch (error) {
      logger.error({ err: error }, 'API key check failed');
      throw grpcError(grpc.status.UNAVAILABLE, 'cannot check the API key now');
    }
    if (!principal) throw grpcError(grpc.status.UNAUTHENTICATED, 'invalid or revoked API key');
    return principal;
  };

  const sendMessage: grpc.handleUnaryCall<SendMessageRequest, SendMessageResponse> = (call, callback) => {
    const run = async (): Promise<SendMessageResponse> => {
      const principal = await authorize(call, 'messages:send');
      const request = call.request;
      const parsed = messageInputSchema.safeParse({
        // proto3 sends unset strings as '': they mean "not given".
        message_id: request.message_id || undefined,
        conversation_id: request.conversation_id,
        conversation_type: request.conversation_type || undefined,
        sender: request.sender?.id ? { id: request.sender.id, name: request.sender.name || undefined } : undefined,
        text: request.text,
      });
      if (!parsed.success) {
        const refused = new BadRequestError(describeIssue(parsed.error, 'message'));
        noteRefused(deps, refused, { channel: GRPC_CHANNEL, transport: 'grpc' });
        throw grpcError(grpc.status.INVALID_ARGUMENT, refused.message);
      }
      let bound: BoundSender;
      try {
        bound = await bindSender(deps.db, principal, GRPC_CHANNEL, parsed.data.sender);
      } catch (error) {
        if (!(error instanceof ForbiddenError)) throw error;
        throw grpcError(grpc.status.PERMISSION_DENIED, error.message);
      }
      const message = toInboundMessage(GRPC_CHANNEL, parsed.data, now(), bound);
      let started: AcceptedMessage;
      try {
        started = await acceptMessage(deps, message, { transport: 'grpc', owner: principal.keyId });
      } catch (error) {
        // The door logged Temporal being unreachable; anything else (the event log failing) is logged here.
        if (!(error instanceof UnavailableError)) {
          logger.error({ err: error, messageId: message.messageId }, 'starting a run failed');
        }
        throw grpcError(grpc.status.UNAVAILABLE, 'the message could not be accepted now; send it again');
      }
      return { workflow_id: started.workflowId, run_id: started.runId, duplicate: started.duplicate };
    };
    run().then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, logger)),
    );
  };

  const watchRun: grpc.handleServerStreamingCall<WatchRunRequest, RunEventMessage> = (call) => {
    const fail = (error: unknown) => call.emit('error', toServiceError(error, logger));
    const start = async () => {
      await authorize(call, 'runs:read');
      const { workflow_id: workflowId } = call.request;
      const afterId = Number(call.request.after_event_id || '0');
      if (!workflowId) throw grpcError(grpc.status.INVALID_ARGUMENT, 'workflow_id: required');
      if (!Number.isSafeInteger(afterId) || afterId < 0) {
        throw grpcError(grpc.status.INVALID_ARGUMENT, 'after_event_id: expected a non-negative event id');
      }
      if ((await runState(deps.temporal, workflowId)) === 'unknown' && !(await hasRunEvents(deps.db, workflowId))) {
        throw grpcError(grpc.status.NOT_FOUND, `no run ${workflowId}`);
      }
      if (call.cancelled) return;
      // Bytes written but not yet taken by HTTP/2 (its flow control stops when the client stops reading).
      let pendingBytes = 0;
      const gate = createSendGate({
        buffered: () => pendingBytes,
        limitBytes: deps.sendBufferBytes,
        stallMs: deps.sendStallMs,
        onStall: () => cutOff(),
      });
      const follower: RunEventFollower = followRunEvents(deps.db, {
        onEvent: (event) => {
          const message: RunEventMessage = {
            id: String(event.id),
            workflow_id: event.workflowId,
            type: event.type,
            data_json: JSON.stringify(event.data ?? {}),
            at: event.at,
          };
          const size = Buffer.byteLength(message.data_json) + message.workflow_id.length + 64;
          pendingBytes += size;
          call.write(message, () => {
            pendingBytes -= size;
          });
        },
        onRunEnd: () => {
          stopWatching();
          call.end();
        },
        isRunOpen: (id) => isRunOpen(deps.temporal, id),
        onError: (error) => logger.warn({ err: error, workflowId }, 'reading run events failed; retrying'),
        canDeliver: gate.canDeliver,
        pollMs: deps.pollMs,
      });
      const watch = { follower, call };
      const stopWatching = () => {
        follower.close();
        if (watches.delete(watch)) deps.metrics.streamWatchers.dec({ channel: GRPC_CHANNEL });
      };
      const cutOff = () => {
        stopWatching();
        deps.metrics.streamSlowClientsCutOff.inc({ channel: GRPC_CHANNEL });
        logger.warn({ workflowId, pendingBytes }, 'client is not reading; WatchRun ended');
        // Sent after what is buffered, so a client that reads again gets every event written, then this status.
        fail(grpcError(grpc.status.RESOURCE_EXHAUSTED, SLOW_CLIENT_DETAILS));
      };
      watches.add(watch);
      deps.metrics.streamWatchers.inc({ channel: GRPC_CHANNEL });
      call.on('cancelled', stopWatching);
      call.on('close', stopWatching);
      // A resumed watch may name a run that closed long ago: ask Temporal at once instead of after a quiet spell.
      follower.follow(workflowId, afterId, { confirmOpen: afterId > 0 });
    };
    start().catch(fail);
  };

  const credentials = tls ? await tlsCredentials(tls) : grpc.ServerCredentials.createInsecure();
  // A SendMessage holds at most 32,000 characters of text: a message over the API's body limit is refused by
  // grpc-js (RESOURCE_EXHAUSTED) before it is decoded, instead of grpc-js's default of 4 MiB.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_API_BODY_BYTES });
  server.addService(loadConduitService(), { SendMessage: sendMessage, WatchRun: watchRun });
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentials, (error, bound) =>
      error ? reject(new Error(`GRPC_PORT ${port} on ${host}: ${error.message}`)) : resolve(bound),
    ),
  );

  return {
    address: `${host}:${boundPort}`,
    async stop() {
      for (const watch of watches) {
        watch.follower.close();
        watch.call.emit('error', grpcError(grpc.status.UNAVAILABLE, 'server shutting down'));
      }
      deps.metrics.streamWatchers.dec({ channel: GRPC_CHANNEL }, watches.size);
      watches.clear();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

async function tlsCredentials(tls: NonNullable<SecuritySettings['tls']>): Promise<grpc.ServerCredentials> {
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.clientCaFile ? readFile(tls.clientCaFile) : undefined,
  ]);
  return grpc.ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], ca !== undefined);
}

/** `ipv4:10.0.0.1:5000`, `ipv6:[::1]:5000` (grpc-js's peer strings) → the address alone. */
export function peerAddress(peer: string): string | undefined {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(bare);
  if (bracketed) return bracketed[1];
  const withPort = /^([^:]+):\d+$/.exec(bare);
  return withPort ? withPort[1] : undefined;
}

/** Errors already in gRPC terms pass through; anything else is INTERNAL, its details kept in the log. */
function toServiceError(error: unknown, logger: Logger): grpc.ServerErrorResponse {
  if (error instanceof Error && typeof (error as Partial<grpc.ServerErrorResponse>).code === 'number') {
    return error as grpc.ServerErrorResponse;
  }
  logger.error({ err: error }, 'gRPC call failed');
  return grpcError(grpc.status.INTERNAL, 'internal error');
}
