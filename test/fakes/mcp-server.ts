// A tiny MCP tool server built with the official SDK's McpServer, standing in for an operator's external tool
// server. Run as a script it speaks stdio (`node --import tsx test/fakes/mcp-server.ts`); tests can also serve
// it over Streamable HTTP in-process with serveFakeMcpOverHttp().
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export function createFakeMcpServer(): McpServer {
  const server = new McpServer({ name: 'conduit-fake-mcp', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool(
    'greeting',
    { description: 'Returns the FAKE_MCP_GREETING environment variable', inputSchema: {} },
    async () => ({ content: [{ type: 'text', text: process.env.FAKE_MCP_GREETING ?? '(unset)' }] }),
  );
  server.registerTool(
    'fail',
    { description: 'Always reports an error', inputSchema: { reason: z.string().optional() } },
    async ({ reason }) => ({ isError: true, content: [{ type: 'text', text: reason ?? 'it broke' }] }),
  );
  server.registerTool(
    'stats.summary',
    { description: 'A dotted name and structured output', inputSchema: { values: z.array(z.number()) } },
    async ({ values }) => {
      const summary = { count: values.length, sum: values.reduce((total, value) => total + value, 0) };
      return { content: [{ type: 'text', text: JSON.stringify(summary) }], structuredContent: summary };
    },
  );
  server.registerTool('pid', { description: 'The server process id', inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: String(process.pid) }],
  }));
  server.registerTool('exit', { description: 'Ends the server process (stdio only)', inputSchema: {} }, async () => {
    setTimeout(() => process.exit(0), 10);
    return { content: [{ type: 'text', text: 'bye' }] };
  });
  return server;
}

/** Serves a fresh stateless McpServer per request at http://127.0.0.1:<port>/mcp. */
export async function serveFakeMcpOverHttp(): Promise<{
  url: string;
  /** The headers of every request received, to check what the client sends. */
  headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const headers: IncomingHttpHeaders[] = [];
  const http = createServer(async (req, res) => {
    headers.push(req.headers);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    const server = createFakeMcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    headers,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createFakeMcpServer().connect(new StdioServerTransport());
}
