// Which external MCP tool servers to connect to: the shape of MCP_SERVERS (and of the MCP_CONFIG_FILE file),
// validated with zod. Pure data, no I/O, so tools/settings.ts can check MCP_SERVERS when the config loads.
import { z } from 'zod';

const serverName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_)){0,31}$/, {
    message: 'a server name is 1-32 letters, digits, "-" or single "_" (its tools are named <server>__<tool>)',
  })
  .refine((name) => !name.endsWith('_'), 'a server name may not end with "_"');

const common = {
  name: serverName,
  /** Sensitive servers' tools need a person's approval per call. External tools act on the world: default true. */
  sensitive: z.boolean().default(true),
  /** Per call; a server that takes longer fails the call (retried like any tool). */
  timeoutMs: z.number().int().positive().max(600_000).default(30_000),
};

const stdioServer = z
  .object({
    ...common,
    transport: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    /** Added to a minimal inherited environment (PATH, HOME, …), never the worker's whole environment. */
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
  })
  .strict();

const httpServer = z
  .object({
    ...common,
    transport: z.literal('http'),
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL of a Streamable HTTP MCP endpoint' }),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const mcpServerListSchema = z
  .array(z.discriminatedUnion('transport', [stdioServer, httpServer]))
  .superRefine((servers, ctx) => {
    const seen = new Set<string>();
    for (const [index, server] of servers.entries()) {
      if (seen.has(server.name)) {
        ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate MCP server name "${server.name}"` });
      }
      seen.add(server.name);
    }
  });

export type McpServerConfig = z.infer<typeof mcpServerListSchema>[number];

/** Parses a JSON list of servers; throws an Error naming the first problem (and never echoing values). */
export function parseMcpServers(json: string): McpServerConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('expected a JSON array of MCP servers');
  }
  const parsed = mcpServerListSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new Error(`${path}${issue?.message ?? 'invalid MCP server list'}`);
  }
  return parsed.data;
}
