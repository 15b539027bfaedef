import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../core/metrics.js';
import { ConfigError } from '../core/settings.js';
import type { Database } from '../db/client.js';
import { createLogger } from '../pii/logger.js';
import { loadConfig } from '../platform/config.js';
import { loadTools, readMcpConfigFile } from './load.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-tools-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tool settings in the config', () => {
  it('reads the HTTP limits with their defaults', () => {
    expect(loadConfig({}).tools).toMatchObject({
      httpAllowedHosts: [],
      httpMaxResponseBytes: 65_536,
      httpTimeoutMs: 10_000,
      httpHeaderOverrides: [],
      mcpServers: [],
    });
    expect(
      loadConfig({ TOOLS_HTTP_HEADER_OVERRIDES: 'Authorization', TOOLS_HTTP_MAX_RESPONSE_BYTES: '1024' }).tools,
    ).toMatchObject({ httpHeaderOverrides: ['authorization'], httpMaxResponseBytes: 1024 });
  });

  it('names the variable when a setting is wrong', () => {
    expect(() => loadConfig({ TOOLS_HTTP_HEADER_OVERRIDES: 'x-api-key' })).toThrow(
      'TOOLS_HTTP_HEADER_OVERRIDES: x-api-key is not one of host, authorization, proxy-authorization, cookie',
    );
    expect(() => loadConfig({ MCP_SERVERS: '[{"name":"a"}]' })).toThrow(/^MCP_SERVERS: /);
  });

  it('parses MCP_SERVERS', () => {
    const config = loadConfig({ MCP_SERVERS: '[{"name":"calc","transport":"stdio","command":"node"}]' });
    expect(config.tools.mcpServers).toMatchObject([{ name: 'calc', command: 'node', sensitive: true }]);
  });
});

describe('readMcpConfigFile', () => {
  it('reads a JSON list of servers', async () => {
    const path = join(dir, 'mcp.json');
    await writeFile(path, '[{"name":"remote","transport":"http","url":"http://127.0.0.1:1/mcp"}]');
    expect(await readMcpConfigFile(path)).toMatchObject([{ name: 'remote', transport: 'http', headers: {} }]);
    expect(await readMcpConfigFile(undefined)).toEqual([]);
  });

  it('reports a missing or malformed file as a config error naming it', async () => {
    await expect(readMcpConfigFile(join(dir, 'missing.json'))).rejects.toThrow(
      new ConfigError('MCP_CONFIG_FILE', `cannot read ${join(dir, 'missing.json')}: ENOENT`),
    );
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[{"name":"x","transport":"stdio"}]');
    await expect(readMcpConfigFile(bad)).rejects.toThrow(`MCP_CONFIG_FILE: ${bad}: 0.command`);
  });
});

describe('loadTools', () => {
  it('assembles the built-ins, the database and Temporal tools, and nothing from MCP when none is configured', async () => {
    const loaded = await loadTools({
      config: loadConfig({ TOOLS_HTTP_ALLOWED_HOSTS: 'api.example.com' }),
      db: {} as Database,
      temporal: {} as Client,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
    });
    expect(loaded.tools.map((tool) => tool.name)).toEqual([
      'current_time',
      'calculator',
      'echo',
      'http_get',
      'http_request',
      'memory_search',
      'schedule_reminder',
    ]);
    await loaded.close();
  });
});
