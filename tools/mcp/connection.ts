// One MCP server connection through the official SDK client: stdio (a child process) or Streamable HTTP.
// A dropped connection (the child exited, the server restarted) is opened again on the next call.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../core/logger.js';
import type { McpServerConfig } from './server-config.js';

export interface McpConnection {
  server: McpServerConfig;
  /** The connected client, reconnecting first if the connection was lost. */
  client(): Promise<Client>;
  listTools(): Promise<Tool[]>;
  /** Forget the client after a transport failure, so the next call reconnects. */
  reset(client: Client): void;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'conduit', version: '0.1.0' };

export async function openMcpConnection(server: McpServerConfig, logger: Logger): Promise<McpConnection> {
  const log = logger.child({ mcpServer: server.name });
  let current: Client | undefined;
  let connecting: Promise<Client> | undefined;
  let closed = false;

  const connect = async (): Promise<Client> => {
    const client = new Client(CLIENT_INFO);
    const transport = createTransport(server, log);
    client.onclose = () => {
      if (current === client) current = undefined;
      if (!closed) log.warn('MCP server connection closed; reconnecting on the next call');
    };
    client.onerror = (error) => log.warn({ err: error }, 'MCP transport error');
    await client.connect(transport, { timeout: server.timeoutMs });
    return client;
  };

  const connection: McpConnection = {
    server,
    async client() {
      if (closed) throw new Error(`MCP server ${server.name} is closed`);
      if (current) return current;
      connecting ??= connect().then(
        (client) => {
          current = client;
          connecting = undefined;
          return client;
        },
        (error: unknown) => {
          connecting = undefined;
          throw error;
        },
      );
      return connecting;
    },
    async listTools() {
      const client = await connection.client();
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: server.timeoutMs });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    },
    reset(client) {
      if (current === client) current = undefined;
      void client.close().catch(() => undefined);
    },
    async close() {
      closed = true;
      const client = current ?? (await connecting?.catch(() => undefined));
      current = undefined;
      await client?.close();
    },
  };
  await connection.client();
  return connection;
}

function createTransport(server: McpServerConfig, log: Logger): Transport {
  if (server.transport === 'http') {
    return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.headers } });
  }
  const transport = new StdioClientTransport({
    command: server.command,
    args: server.args,
    env: server.env,
    cwd: server.cwd,
    stderr: 'pipe',
  });
  // The server's own diagnostics go to our JSON log, not raw to stderr.
  const stderr = transport.stderr;
  if (stderr instanceof Readable) {
    createInterface({ input: stderr }).on('line', (line) => {
      if (line.trim() !== '') log.info({ stderr: line.slice(0, 2_000) }, 'MCP server output');
    });
  }
  return transport;
}
