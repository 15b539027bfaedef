// Temporal's codec server protocol, so the Temporal UI and CLI can show what the payload codec encrypted:
// POST /codec/decode and /codec/encode take and return `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`
// (protobuf JSON). They use the Temporal client's own codec chain, so what they decode is what workers read.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import { describeIssue } from '../../core/validation.js';
import { PayloadDecryptionError } from '../../security/payload-codec.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { limitBody } from '../middleware/body-limit.js';
import { bearer, defineRoute, errorResponses, jsonContent, serve } from '../route-spec.js';
import { errorSchema } from '../schemas.js';

/**
 * A batch is what the UI or CLI read in one Temporal response: the frontend sends at most 4 MiB per gRPC message
 * by default (a history page), 5.4 MiB as base64 JSON. 16 MiB leaves room for a server configured with larger
 * messages; the codec guards (rate limits, authentication) run before any of it is read.
 */
export const MAX_CODEC_BODY_BYTES = 16 * 1024 * 1024;
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64');
// Protobuf JSON leaves out empty fields: the CLI sends `{}` for a query without arguments (no payloads), and
// a payload without metadata or data leaves those out too. Absent means empty, as protojson reads it; an
// unknown top-level field is refused, as protojson refuses it.
const bodySchema = z.strictObject({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() }))
    .max(10_000)
    .nullish()
    .transform((payloads) => payloads ?? []),
});

type JsonPayload = z.infer<typeof bodySchema>['payloads'][number];

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))]),
  ),
  data: new Uint8Array(Buffer.from(data ?? '', 'base64')),
});

const toJson = ({ metadata, data }: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  ),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

/** Codecs encode in order and decode in reverse, as the SDK does. */
async function runCodecs(codecs: readonly PayloadCodec[], direction: 'encode' | 'decode', payloads: Payload[]) {
  let result = payloads;
  for (const codec of direction === 'encode' ? codecs : [...codecs].reverse()) {
    result = await codec[direction](result);
  }
  return result;
}

const codecRoute = <D extends 'encode' | 'decode'>(direction: D, summary: string, answer: string) =>
  defineRoute({
    method: 'post',
    path: `/codec/${direction}`,
    'x-permission': direction === 'decode' ? 'payloads:decode' : 'payloads:encode',
    summary,
    security: bearer,
    request: { body: { required: true, content: jsonContent(bodySchema) } },
    responses: {
      200: { description: answer, content: jsonContent(bodySchema) },
      ...errorResponses,
      413: { description: 'Body over 16 MiB', content: jsonContent(errorSchema) },
    },
  });

export const codecRouteSpecs = {
  decode: codecRoute('decode', 'Temporal codec server: decrypt payloads for the Temporal UI/CLI', 'Decoded payloads'),
  encode: codecRoute('encode', 'Temporal codec server: encrypt payloads', 'Encoded payloads'),
};

export const codecRouteList = [codecRouteSpecs.decode, codecRouteSpecs.encode];

export function codecRoutes({ temporal }: Pick<ApiDeps, 'temporal'>) {
  const codecs = temporal.options.loadedDataConverter.payloadCodecs;
  const app = new OpenAPIHono<ApiEnv>();
  const middleware = [limitBody<ApiEnv>(MAX_CODEC_BODY_BYTES, 'codec requests')];
  for (const direction of ['encode', 'decode'] as const) {
    // The handler reads the body itself: protobuf JSON's rules (absent means empty), after the size limit.
    serve(
      app,
      codecRouteSpecs[direction],
      async (c) => {
        let raw: unknown;
        try {
          raw = await c.req.json();
        } catch {
          throw new BadRequestError('expected a JSON body');
        }
        const parsed = bodySchema.safeParse(raw);
        if (!parsed.success) {
          throw new BadRequestError(describeIssue(parsed.error));
        }
        try {
          const payloads = await runCodecs(codecs, direction, parsed.data.payloads.map(fromJson));
          return c.json({ payloads: payloads.map(toJson) });
        } catch (error) {
          if (error instanceof PayloadDecryptionError) throw new BadRequestError(error.message);
          throw error;
        }
      },
      { bodyReadBy: 'handler', middleware },
    );
  }
  return app;
}
