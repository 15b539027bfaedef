import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import { createToolRegistry } from '../registry.js';
import { createHttpGetTool, isHostAllowed } from './http-get.js';

let server: Server;
let origin: string;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('你好, world');
    } else if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('a'.repeat(3000));
      res.end(`${'b'.repeat(3000)}`);
    } else if (req.url === '/exact') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('c'.repeat(4096));
    } else if (req.url === '/split') {
      // 4095 ASCII bytes, then a three-byte character straddling the 4096-byte limit.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`${'d'.repeat(4095)}汉tail`);
    } else if (req.url === '/image') {
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    } else if (req.url === '/missing') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    } else if (req.url === '/hop') {
      res.writeHead(302, { location: '/hello' }).end();
    } else if (req.url === '/escape') {
      res.writeHead(302, { location: `http://localhost:${port}/hello` }).end();
    } else if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
    } else {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const registry = () => createToolRegistry([createHttpGetTool({ allowedHosts: ['127.0.0.1'] })]);
const get = (url: string) => registry().runTool('http_get', JSON.stringify({ url }));

describe('http_get', () => {
  it('returns the status, content type and text of an allowed URL', async () => {
    expect(await get(`${origin}/hello`)).toEqual({
      url: `${origin}/hello`,
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      text: '你好, world',
      truncated: false,
    });
  });

  it('returns only the first 4 KB of a larger body', async () => {
    const result = (await get(`${origin}/big`)) as { text: string; truncated: boolean };
    expect(result.truncated).toBe(true);
    expect(result.text).toBe(`${'a'.repeat(3000)}${'b'.repeat(1096)}`);
  });

  it('does not call a body of exactly 4 KB truncated', async () => {
    const result = (await get(`${origin}/exact`)) as { text: string; truncated: boolean };
    expect(result).toMatchObject({ truncated: false });
    expect(result.text).toHaveLength(4096);
  });

  it('drops a multi-byte character cut by the limit instead of garbling it', async () => {
    const result = (await get(`${origin}/split`)) as { text: string; truncated: boolean };
    expect(result.truncated).toBe(true);
    expect(result.text).toBe('d'.repeat(4095));
  });

  it('reports error statuses as results, for the model to read', async () => {
    expect(await get(`${origin}/missing`)).toMatchObject({ status: 404, text: '{"error":"not found"}' });
  });

  it('returns no text for binary content', async () => {
    expect(await get(`${origin}/image`)).toMatchObject({ status: 200, contentType: 'image/png', text: '' });
  });

  it('follows a redirect within the allowlist', async () => {
    expect(await get(`${origin}/hop`)).toMatchObject({ url: `${origin}/hello`, text: '你好, world' });
  });

  it('refuses a host outside the allowlist without contacting it', async () => {
    const before = hits.length;
    const error = await get(`http://localhost:${port}/hello`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe('http_get may not fetch from host "localhost"; allowed hosts: 127.0.0.1');
    expect(hits.length).toBe(before);
  });

  it('refuses a redirect that leaves the allowlist', async () => {
    const before = hits.length;
    const error = await get(`${origin}/escape`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('"localhost"');
    expect(hits.slice(before)).toEqual(['/escape']);
  });

  it('stops after three redirects', async () => {
    await expect(get(`${origin}/loop`)).rejects.toThrow('stopped after 3 redirects');
  });

  it('rejects non-http URLs at validation', async () => {
    await expect(get('file:///etc/passwd')).rejects.toThrow(/http:\/\/ or https:\/\//);
  });

  it('turns a refused connection into a retryable error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await get(`http://127.0.0.1:${closedPort}/`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(true);
  });

  it('names the allowed hosts in its description', () => {
    const tool = createHttpGetTool({ allowedHosts: ['api.example.com', '*.example.org'] });
    expect(tool.description).toContain('api.example.com, *.example.org');
  });
});

describe('isHostAllowed', () => {
  it.each([
    ['api.example.com', ['api.example.com'], true],
    ['API.Example.com', ['api.example.com'], true],
    ['api.example.com.', ['api.example.com'], true],
    ['evil-api.example.com', ['api.example.com'], false],
    ['api.example.com.evil.net', ['api.example.com'], false],
    ['a.b.example.org', ['*.example.org'], true],
    ['example.org', ['*.example.org'], false],
    ['badexample.org', ['*.example.org'], false],
    ['anything.com', [], false],
  ])('%s with %j → %s', (host, allowed, expected) => {
    expect(isHostAllowed(host, allowed)).toBe(expected);
  });
});
