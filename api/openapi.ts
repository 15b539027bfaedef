// The OpenAPI 3.1 description of the HTTP API (served at /openapi.json) and a self-contained docs page
// (/docs: no CDN, because many deployments have no internet access).
import { z } from 'zod';
import { auditQuerySchema } from './routes/audit.js';
import { purgeRequestSchema } from './routes/privacy.js';
import { createScheduleSchema } from './routes/schedules.js';
import { decisionSchema, errorSchema, postMessageSchema, startedRunSchema } from './schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } });
const errors = {
  '400': { description: 'Invalid request', content: json(errorSchema) },
  '401': { description: 'Missing or invalid credentials', content: json(errorSchema) },
  '403': { description: 'Not permitted for this role', content: json(errorSchema) },
};
const runIdParameter = { name: 'workflowId', in: 'path', required: true, schema: { type: 'string' } };
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const userParameters = ['channel', 'userId'].map((name) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
}));

/** Query parameters from a zod object: one parameter per property of its JSON schema. */
function queryParameters(schema: z.ZodType) {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

export function openApiDocument(serverUrl?: string) {
  const decision = (action: string) => ({
    post: {
      summary: `${action} a waiting run`,
      security: [{ bearer: [] }],
      parameters: [runIdParameter],
      requestBody: { content: json(decisionSchema) },
      responses: {
        '202': { description: 'Signal delivered' },
        '404': { description: 'No such running run' },
        ...errors,
      },
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'Conduit API', version: '0.1.0', description: 'Chat in, durable Temporal runs, replies out.' },
    servers: serverUrl ? [{ url: serverUrl }] : [],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key or JWT' } } },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'The process answers' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness of Temporal, the database and the object store',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Names the components that failed' } },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format' } } },
      },
      '/v1/messages': {
        post: {
          summary: 'Send a message as the api channel; starts (or finds) its durable run',
          security: [{ bearer: [] }],
          parameters: [
            {
              name: 'wait',
              in: 'query',
              required: false,
              schema: { type: 'number', maximum: 60 },
              description: 'Seconds to wait for the reply',
            },
          ],
          requestBody: { required: true, content: json(postMessageSchema) },
          responses: {
            '200': { description: 'Duplicate message, or finished within ?wait', content: json(startedRunSchema) },
            '202': { description: 'Run started', content: json(startedRunSchema) },
            ...errors,
            '503': {
              description: 'Temporal is unreachable and the message was not recorded; send it again after Retry-After',
              content: json(errorSchema),
            },
          },
        },
      },
      '/v1/runs/{workflowId}': {
        get: {
          summary: "A run's state, current step, intent, plan, tool calls and reply",
          security: [{ bearer: [] }],
          parameters: [runIdParameter],
          responses: { '200': { description: 'The run' }, '404': { description: 'No such run' }, ...errors },
        },
      },
      '/v1/runs/{workflowId}/approve': decision('Approve'),
      '/v1/runs/{workflowId}/reject': decision('Reject'),
      '/v1/runs/{workflowId}/cancel': decision('Cancel'),
      '/v1/jobs': {
        get: {
          summary: "A user's pending reminders and approvals",
          security: [{ bearer: [] }],
          parameters: [
            { name: 'owner', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'channel', in: 'query', required: true, schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'Pending jobs' }, ...errors },
        },
      },
      '/v1/whoami': {
        get: {
          summary: 'The calling principal: key id or JWT subject, and role',
          security: [{ bearer: [] }],
          responses: { '200': { description: 'The principal' }, ...errors },
        },
      },
      '/v1/ws': {
        get: {
          summary:
            'WebSocket: send message frames and receive run events; resume with ?last_event_id (docs/streaming.md)',
          security: [{ bearer: [] }],
          responses: { '101': { description: 'Switching protocols' }, ...errors },
        },
      },
      '/v1/schedules': {
        get: {
          summary: 'Recurring messages of this deployment',
          security: [{ bearer: [] }],
          responses: { '200': { description: 'Schedules' }, ...errors },
        },
        post: {
          summary: 'Create a recurring message (cron or interval) as a Temporal Schedule',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(createScheduleSchema) },
          responses: { '201': { description: 'Created' }, ...errors },
        },
      },
      '/v1/schedules/{id}': {
        get: {
          summary: 'One schedule',
          security: [{ bearer: [] }],
          parameters: [idParameter],
          responses: { '200': { description: 'The schedule' }, '404': { description: 'No such schedule' }, ...errors },
        },
        delete: {
          summary: 'Delete a schedule',
          security: [{ bearer: [] }],
          parameters: [idParameter],
          responses: { '200': { description: 'Deleted' }, '404': { description: 'No such schedule' }, ...errors },
        },
      },
      '/v1/keys': {
        get: {
          summary: 'API keys (never the keys themselves)',
          security: [{ bearer: [] }],
          responses: { '200': { description: 'Keys' }, ...errors },
        },
        post: {
          summary: 'Create an API key; the key is in this answer only',
          security: [{ bearer: [] }],
          responses: { '201': { description: 'Created' }, ...errors },
        },
      },
      '/v1/keys/{id}': {
        delete: {
          summary: 'Revoke an API key',
          security: [{ bearer: [] }],
          parameters: [idParameter],
          responses: { '200': { description: 'Revoked' }, ...errors },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'Query the hash-chained audit log (admin)',
          security: [{ bearer: [] }],
          parameters: queryParameters(auditQuerySchema),
          responses: { '200': { description: 'Audit rows' }, ...errors },
        },
      },
      '/v1/audit/verify': {
        post: {
          summary: 'Verify the audit chain now (admin)',
          security: [{ bearer: [] }],
          responses: { '200': { description: 'Verification result' }, ...errors },
        },
      },
      '/v1/privacy/purge': {
        post: {
          summary: 'Run the retention purge now (admin)',
          security: [{ bearer: [] }],
          requestBody: { content: json(purgeRequestSchema) },
          responses: { '200': { description: 'What was purged' }, ...errors },
        },
      },
      '/v1/privacy/users/{channel}/{userId}/export': {
        get: {
          summary: "Export one user's data as JSON (admin, audit-logged)",
          security: [{ bearer: [] }],
          parameters: userParameters,
          responses: { '200': { description: 'The export' }, ...errors },
        },
      },
      '/v1/privacy/users/{channel}/{userId}': {
        delete: {
          summary: "Erase one user's data across database, object store and histories (admin, audit-logged)",
          security: [{ bearer: [] }],
          parameters: userParameters,
          responses: { '200': { description: 'What was erased' }, ...errors },
        },
      },
      '/codec/decode': {
        post: {
          summary: 'Temporal codec server: decrypt payloads for the Temporal UI/CLI',
          security: [{ bearer: [] }],
          responses: { '200': { description: 'Decoded payloads' }, ...errors },
        },
      },
      '/codec/encode': {
        post: {
          summary: 'Temporal codec server: encrypt payloads',
          security: [{ bearer: [] }],
          responses: { '200': { description: 'Encoded payloads' }, ...errors },
        },
      },
      '/webhooks/{channel}': {
        post: {
          summary: "A chat platform's webhook (custom, dingtalk, feishu), verified with that platform's signature",
          parameters: [{ name: 'channel', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'Acknowledged (duplicate, ignored event, or handshake)' },
            '202': { description: 'Run started' },
            '401': { description: 'Forged or stale signature, wrong token' },
            '404': { description: 'Channel not enabled' },
            '413': { description: 'Body over 1 MiB' },
          },
        },
      },
    },
  };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] ?? char);

/** A readable page of every operation, rendered from the same document. */
export function docsPage(document: ReturnType<typeof openApiDocument>): string {
  const rows = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations as Record<string, { summary: string; security?: unknown[]; requestBody?: unknown }>).map(
      ([method, operation]) =>
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(operation.summary)}</td><td>${operation.security ? 'bearer' : 'none'}</td></tr>`,
    ),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Conduit API</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:70rem}td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #ddd}</style>
</head><body><h1>Conduit API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${document.openapi}).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Auth</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
}
