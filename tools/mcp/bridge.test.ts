// The MCP bridge against the real SDK server in test/fakes/mcp-server.ts, over stdio (a child process) and
// over Streamable HTTP.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import { createLogger } from '../../pii/logger.js';
import { serveFakeMcpOverHttp } from '../../test/fakes/mcp-server.js';
import { createToolRegistry, type ToolRegistry } from '../registry.js';
import { bridgedToolName, connectMcpServers, type McpBridge, toResult } from './bridge.js';
import { type McpServerConfig, mcpServerListSchema } from './server-config.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const logger = createLogger('silent');

type StdioServer = Extract<McpServerConfig, { transport: 'stdio' }>;

const fakeStdioServer = (name: string, extra: Record<string, unknown> = {}): StdioServer =>
  mcpServerListSchema.parse([
    {
      name,
      transport: 'stdio',
      command: process.execPath,
      args: ['--import', 'tsx', 'test/fakes/mcp-server.ts'],
      cwd: projectRoot,
      env: { FAKE_MCP_GREETING: 'hello from the environment' },
      sensitive: false,
      timeoutMs: 10_000,
      ...extra,
    },
  ])[0] as StdioServer;

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );

describe('the MCP bridge over stdio', () => {
  let bridge: McpBridge;
  let registry: ToolRegistry;

  beforeAll(async () => {
    bridge = await connectMcpServers(
      [
        fakeStdioServer('calc'),
        fakeStdioServer('guarded', { sensitive: undefined, timeoutMs: undefined }),
        { ...fakeStdioServer('broken'), command: '/nonexistent/mcp-server' },
      ],
      logger,
    );
    registry = createToolRegistry(bridge.tools);
  }, 60_000);
  afterAll(async () => {
    await bridge?.close();
  });

  it('registers each tool as <server>__<tool> with its JSON schema, and skips an unreachable server', () => {
    expect(bridge.servers.calc).toEqual([
      'calc__add',
      'calc__greeting',
      'calc__fail',
      'calc__stats_summary',
      'calc__pid',
      'calc__exit',
    ]);
    expect(bridge.servers.broken).toBeUndefined();
    const add = registry.list().find((spec) => spec.function.name === 'calc__add');
    expect(add?.function.description).toBe('Adds two numbers (tool "add" of MCP server calc)');
    expect(add?.function.parameters).toMatchObject({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    });
  });

  it('takes sensitivity and timeout from the server config, sensitive by default', () => {
    expect(registry.get('calc__add')).toMatchObject({ sensitive: false, timeoutMs: 10_000 });
    expect(registry.get('guarded__add')).toMatchObject({ sensitive: true, timeoutMs: 30_000 });
  });

  it('calls the tool on the server and returns its text', async () => {
    expect(await registry.runTool('calc__add', '{"a":2,"b":3}')).toEqual({ text: '5' });
  });

  it('starts the server with the configured environment', async () => {
    expect(await registry.runTool('calc__greeting', '{}')).toEqual({ text: 'hello from the environment' });
  });

  it('maps a dotted MCP tool name and keeps structured content', async () => {
    expect(await registry.runTool('calc__stats_summary', '{"values":[1,2,3.5]}')).toEqual({
      text: '{"count":3,"sum":6.5}',
      structured: { count: 3, sum: 6.5 },
    });
  });

  it('turns a tool error into a non-retryable failure the model can read', async () => {
    const error = await failure(registry.runTool('calc__fail', '{"reason":"disk full"}'));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(false);
    expect((error as Error).message).toBe('calc__fail failed: disk full');
  });

  it('leaves argument checking to the server but requires an object', async () => {
    const error = await failure(registry.runTool('calc__add', '{"a":"two","b":3}'));
    expect((error as Error).message).toMatch(/calc__add/);
    expect((error as UpstreamError).retryable).toBe(false);
    await expect(registry.runTool('calc__add', '[1,2]')).rejects.toBeInstanceOf(BadRequestError);
  });

  it('reconnects after the server process exits', async () => {
    const pid = ((await registry.runTool('guarded__pid', '{}')) as { text: string }).text;
    await registry.runTool('guarded__exit', '{}');
    // Calls right after the exit may fail as retryable errors (the worker retries them); then a new process answers.
    const deadline = Date.now() + 20_000;
    let answeredBy: string | undefined;
    while (Date.now() < deadline) {
      try {
        const { text } = (await registry.runTool('guarded__pid', '{}')) as { text: string };
        if (text !== pid) {
          answeredBy = text;
          break;
        }
      } catch (error) {
        expect((error as UpstreamError).retryable).toBe(true);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(answeredBy).toMatch(/^\d+$/);
    expect(await registry.runTool('guarded__add', '{"a":1,"b":1}')).toEqual({ text: '2' });
  });
});

describe('the MCP bridge over Streamable HTTP', () => {
  it('lists and calls tools of an HTTP server, sending the configured headers', async () => {
    const server = await serveFakeMcpOverHttp();
    const config = mcpServerListSchema.parse([
      { name: 'remote', transport: 'http', url: server.url, headers: { 'x-api-key': 'k' }, sensitive: false },
    ]);
    const bridge = await connectMcpServers(config, logger);
    try {
      expect(bridge.servers.remote).toContain('remote__add');
      const registry = createToolRegistry(bridge.tools);
      expect(await registry.runTool('remote__add', '{"a":40,"b":2}')).toEqual({ text: '42' });
      expect(server.headers.every((headers) => headers['x-api-key'] === 'k')).toBe(true);
    } finally {
      await bridge.close();
      await server.close();
    }
  });
});

describe('bridgedToolName and toResult', () => {
  it('keeps names within the function-calling rule', () => {
    expect(bridgedToolName('files', 'read file/v2')).toBe('files__read_file_v2');
    expect(bridgedToolName('s', 'x'.repeat(100))).toHaveLength(64);
  });

  it('names binary parts instead of inlining them', () => {
    expect(
      toResult({
        content: [
          { type: 'text', text: 'a' },
          { type: 'image', data: 'AAAA', mimeType: 'image/png' },
          { type: 'text', text: 'b' },
        ],
      }),
    ).toEqual({ text: 'a\nb', omitted: ['image content'] });
  });
});
