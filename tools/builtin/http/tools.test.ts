import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, UpstreamError } from '../../../core/errors.js';
import type { Resolver } from '../../../security/address-guard.js';
import { createToolRegistry } from '../../registry.js';
import { truncationMarker } from './send-request.js';
import { createHttpGetTool, createHttpRequestTool, type HttpToolOptions } from './tools.js';

let server: Server;
let origin: string;
let port: number;
const hits: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('你好, world');
    } else if (path === '/echo') {
      res
        .writeHead(201, { 'content-type': 'application/json', location: '/things/7' })
        .end(JSON.stringify({ method: req.method, contentType: req.headers['content-type'] ?? null, body }));
    } else if (path === '/big') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('a'.repeat(3000));
      res.end('b'.repeat(3000));
    } else if (path === '/exact') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('c'.repeat(4096));
    } else if (path === '/split') {
      // 4095 ASCII bytes, then a three-byte character straddling the 4096-byte limit.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`${'d'.repeat(4095)}汉tail`);
    } else if (path === '/image') {
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    } else if (path === '/missing') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    } else if (path === '/hop') {
      res.writeHead(302, { location: '/hello' }).end();
    } else if (path === '/see-other') {
      res.writeHead(303, { location: '/echo' }).end();
    } else if (path === '/keep-method') {
      res.writeHead(307, { location: '/echo' }).end();
    } else if (path === '/escape') {
      res.writeHead(302, { location: `http://localhost:${port}/hello` }).end();
    } else if (path === '/to-internal') {
      res.writeHead(302, { location: `http://internal.wild.test:${port}/hello` }).end();
    } else if (path === '/to-other-origin') {
      res.writeHead(307, { location: `http://named.test:${port}/echo` }).end();
    } else if (path === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
    } else if (path === '/slow') {
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('late'), 2_000);
    } else {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Test DNS: every *.test name points at the loopback test server. */
const resolve: Resolver = async (name) => (name.endsWith('.test') ? [{ address: '127.0.0.1', family: 4 }] : []);

const options = (extra: Partial<HttpToolOptions> = {}): HttpToolOptions => ({
  allowedHosts: ['127.0.0.1', 'named.test', '*.wild.test'],
  maxResponseBytes: 4096,
  resolve,
  ...extra,
});
const registry = (extra: Partial<HttpToolOptions> = {}) =>
  createToolRegistry([createHttpGetTool(options(extra)), createHttpRequestTool(options(extra))]);
const get = (url: string, extra: Record<string, unknown> = {}) =>
  registry().runTool('http_get', JSON.stringify({ url, ...extra }));
const request = (args: Record<string, unknown>, extra: Partial<HttpToolOptions> = {}) =>
  registry(extra).runTool('http_request', JSON.stringify(args));
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );

describe('http_get', () => {
  it('returns the status, content type and text of an allowed URL', async () => {
    expect(await get(`${origin}/hello`)).toEqual({
      url: `${origin}/hello`,
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      headers: {},
      text: '你好, world',
      truncated: false,
    });
  });

  it('is not sensitive, unlike http_request', () => {
    expect(registry().get('http_get')?.sensitive).toBe(false);
    expect(registry().get('http_request')?.sensitive).toBe(true);
  });

  it('cuts a larger body at the cap and says so in the text', async () => {
    const result = (await get(`${origin}/big`)) as { text: string; truncated: boolean };
    expect(result.truncated).toBe(true);
    expect(result.text).toBe(`${'a'.repeat(3000)}${'b'.repeat(1096)}${truncationMarker(4096)}`);
  });

  it('does not call a body of exactly the cap truncated', async () => {
    const result = (await get(`${origin}/exact`)) as { text: string; truncated: boolean };
    expect(result.truncated).toBe(false);
    expect(result.text).toHaveLength(4096);
  });

  it('drops a multi-byte character cut by the limit instead of garbling it', async () => {
    const result = (await get(`${origin}/split`)) as { text: string; truncated: boolean };
    expect(result.text).toBe(`${'d'.repeat(4095)}${truncationMarker(4096)}`);
  });

  it('has a 64 KiB cap by default', () => {
    expect(createHttpGetTool({ allowedHosts: ['a.example'] }).description).toContain('up to 65536 bytes');
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
    const error = await failure(get(`http://localhost:${port}/hello`));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe(
      'http_get may not fetch from host "localhost"; allowed hosts: 127.0.0.1, named.test, *.wild.test',
    );
    expect(hits.length).toBe(before);
  });

  it('refuses a redirect that leaves the allowlist', async () => {
    const before = hits.length;
    const error = await failure(get(`${origin}/escape`));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('"localhost"');
    expect(hits.slice(before).map((hit) => hit.url)).toEqual(['/escape']);
  });

  it('refuses a wildcard-allowed name that resolves to a private address, before connecting', async () => {
    const before = hits.length;
    const error = await failure(get(`http://internal.wild.test:${port}/hello`));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('resolves to 127.0.0.1, a private or local address');
    expect(hits.length).toBe(before);
  });

  it('re-checks the address after a redirect', async () => {
    const before = hits.length;
    const error = await failure(get(`${origin}/to-internal`));
    expect((error as Error).message).toContain('"internal.wild.test" resolves to 127.0.0.1');
    expect(hits.slice(before).map((hit) => hit.url)).toEqual(['/to-internal']);
  });

  it('lets an exactly allow-listed name reach its private address', async () => {
    expect(await get(`http://named.test:${port}/hello`)).toMatchObject({ status: 200, text: '你好, world' });
    expect(hits.at(-1)?.headers.host).toBe(`named.test:${port}`);
  });

  it('stops after three redirects', async () => {
    await expect(get(`${origin}/loop`)).rejects.toThrow('stopped after 3 redirects');
  });

  it('rejects non-http URLs at validation', async () => {
    await expect(get('file:///etc/passwd')).rejects.toThrow(/http:\/\/ or https:\/\//);
  });

  it('turns a refused connection into a retryable error', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const error = await failure(get(`http://127.0.0.1:${closedPort}/`));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(true);
  });

  it('times out on its own, inside the registry timeout', async () => {
    const tool = createHttpGetTool(options({ timeoutMs: 300 }));
    expect(tool.timeoutMs).toBe(1_300);
    const error = await failure(
      createToolRegistry([tool]).runTool('http_get', JSON.stringify({ url: `${origin}/slow` })),
    );
    expect(error).toMatchObject({ retryable: true, message: `http_get ${origin}/slow timed out after 300 ms` });
  });

  it('gives up after the per-call timeout', async () => {
    const error = await failure(get(`${origin}/slow`, { timeout_ms: 200 }));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toBe(`http_get ${origin}/slow timed out after 200 ms`);
  });

  it('names the allowed hosts in its description', () => {
    const tool = createHttpGetTool({ allowedHosts: ['api.example.com', '*.example.org'] });
    expect(tool.description).toContain('api.example.com, *.example.org');
  });
});

describe('http_request', () => {
  it('posts a JSON body as application/json and returns the response', async () => {
    const result = await request({ method: 'POST', url: `${origin}/echo`, json: { name: 'Ada', n: 1 } });
    expect(result).toMatchObject({
      status: 201,
      headers: { location: '/things/7' },
      truncated: false,
    });
    expect(JSON.parse((result as { text: string }).text)).toEqual({
      method: 'POST',
      contentType: 'application/json',
      body: '{"name":"Ada","n":1}',
    });
  });

  it.each(['PUT', 'PATCH', 'DELETE'])('sends %s with a text body and a given content type', async (method) => {
    const result = (await request({
      method,
      url: `${origin}/echo`,
      body: 'a=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Trace': 't-1' },
    })) as { text: string };
    expect(JSON.parse(result.text)).toEqual({ method, contentType: 'application/x-www-form-urlencoded', body: 'a=1' });
    expect(hits.at(-1)?.headers['x-trace']).toBe('t-1');
  });

  it('turns a POST into a GET without a body after a 303', async () => {
    const result = (await request({ method: 'POST', url: `${origin}/see-other`, json: { a: 1 } })) as { text: string };
    expect(JSON.parse(result.text)).toEqual({ method: 'GET', contentType: null, body: '' });
  });

  it('keeps the method and body through a 307', async () => {
    const result = (await request({ method: 'PUT', url: `${origin}/keep-method`, body: 'x' })) as { text: string };
    expect(JSON.parse(result.text)).toMatchObject({ method: 'PUT', body: 'x' });
  });

  it('refuses Host and Authorization headers unless the operator allows them', async () => {
    for (const header of ['Host', 'Authorization', 'cookie']) {
      const error = await failure(request({ method: 'GET', url: `${origin}/echo`, headers: { [header]: 'x' } }));
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as Error).message).toContain(`may not set the ${header} header`);
    }
    await request(
      { method: 'GET', url: `${origin}/echo`, headers: { Authorization: 'Bearer t' } },
      { headerOverrides: ['authorization'] },
    );
    expect(hits.at(-1)?.headers.authorization).toBe('Bearer t');
  });

  it('drops an allowed Authorization header when a redirect changes origin', async () => {
    await request(
      { method: 'POST', url: `${origin}/to-other-origin`, headers: { Authorization: 'Bearer t' }, body: 'b' },
      { headerOverrides: ['authorization'] },
    );
    expect(hits.at(-1)).toMatchObject({ url: '/echo', body: 'b' });
    expect(hits.at(-1)?.headers.authorization).toBeUndefined();
    expect(hits.at(-1)?.headers.host).toBe(`named.test:${port}`);
  });

  it('refuses transport headers and header injection', async () => {
    await expect(
      request({ method: 'POST', url: `${origin}/echo`, headers: { 'Content-Length': '1' }, body: 'abc' }),
    ).rejects.toThrow('set by the transport');
    await expect(
      request({ method: 'GET', url: `${origin}/echo`, headers: { 'X-A': 'a\r\nHost: evil' } }),
    ).rejects.toThrow('line break');
  });

  it('validates the method and the body', async () => {
    await expect(request({ method: 'TRACE', url: `${origin}/echo` })).rejects.toThrow(/method/);
    await expect(request({ method: 'GET', url: `${origin}/echo`, body: 'x' })).rejects.toThrow(
      'a GET request has no body',
    );
    await expect(request({ method: 'POST', url: `${origin}/echo`, body: 'x', json: {} })).rejects.toThrow(
      'either json or body',
    );
  });

  it('does not retry a POST that may have reached the server, but retries one that never left', async () => {
    const slow = await failure(request({ method: 'POST', url: `${origin}/slow`, body: 'x', timeout_ms: 200 }));
    expect(slow).toMatchObject({ retryable: false, message: `http_request ${origin}/slow timed out after 200 ms` });
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const refused = await failure(request({ method: 'POST', url: `http://127.0.0.1:${closedPort}/`, body: 'x' }));
    expect(refused).toMatchObject({ retryable: true });
  });
});
