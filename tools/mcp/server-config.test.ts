import { describe, expect, it } from 'vitest';
import { parseMcpServers } from './server-config.js';

describe('parseMcpServers', () => {
  it('fills defaults for stdio and http servers', () => {
    expect(
      parseMcpServers(
        JSON.stringify([
          { name: 'files', transport: 'stdio', command: 'node', args: ['server.js'], env: { TOKEN: 't' } },
          { name: 'crm-api', transport: 'http', url: 'https://mcp.example.com/mcp', sensitive: false, timeoutMs: 5000 },
        ]),
      ),
    ).toEqual([
      {
        name: 'files',
        transport: 'stdio',
        command: 'node',
        args: ['server.js'],
        env: { TOKEN: 't' },
        sensitive: true,
        timeoutMs: 30_000,
      },
      {
        name: 'crm-api',
        transport: 'http',
        url: 'https://mcp.example.com/mcp',
        headers: {},
        sensitive: false,
        timeoutMs: 5000,
      },
    ]);
  });

  it.each([
    ['not json', 'expected a JSON array of MCP servers'],
    ['{}', 'expected array'],
    ['[{"name":"a__b","transport":"stdio","command":"x"}]', '0.name: a server name is'],
    ['[{"name":"a_","transport":"stdio","command":"x"}]', 'may not end with "_"'],
    ['[{"name":"a","transport":"sse","url":"http://x"}]', '0.transport'],
    ['[{"name":"a","transport":"http","url":"ftp://x"}]', 'Streamable HTTP'],
    ['[{"name":"a","transport":"stdio"}]', '0.command'],
    ['[{"name":"a","transport":"stdio","command":"x","extra":1}]', 'extra'],
    [
      '[{"name":"a","transport":"stdio","command":"x"},{"name":"a","transport":"stdio","command":"y"}]',
      'duplicate MCP server name "a"',
    ],
  ])('rejects %s', (json, message) => {
    expect(() => parseMcpServers(json)).toThrow(message);
  });

  it('never echoes values in its errors (env may hold secrets)', () => {
    expect(() => parseMcpServers('[{"name":"a","transport":"stdio","command":"x","env":{"TOKEN":42}}]')).toThrow(
      /^0\.env\.TOKEN: /,
    );
    try {
      parseMcpServers('[{"name":"a","transport":"stdio","command":"x","env":{"TOKEN":"s3cret","N":1}}]');
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret');
    }
  });
});
