import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import type { Resolver } from '../../security/address-guard.js';
import { createCustomAdapter } from './adapter.js';
import { postCallback } from './callback.js';
import { checkCallbackUrl } from './callback-address.js';
import { signCustomPayload } from './signature.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const deps = { fetch: globalThis.fetch, now: () => NOW };
const resolveTo =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('checkCallbackUrl', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'http://127.1/hook',
    'http://0177.0.0.1/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
    'http://192.168.1.1/hook',
    'http://[fe80::1]/hook',
    'http://0.0.0.0/hook',
  ])('refuses %s', async (url) => {
    await expect(checkCallbackUrl(url, { allowedHosts: [] })).rejects.toThrow(BadRequestError);
  });

  it('refuses a name that resolves to a private address, and names the setting that allows it', async () => {
    const error = await checkCallbackUrl('https://hooks.example.com/x', {
      allowedHosts: [],
      resolve: resolveTo('93.184.216.34', '10.1.2.3'),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/10\.1\.2\.3.*CUSTOM_CALLBACK_ALLOWED_HOSTS/);
  });

  it('accepts a public name, and a private one the operator listed by exact name', async () => {
    await expect(
      checkCallbackUrl('https://hooks.example.com/x', { allowedHosts: [], resolve: resolveTo('93.184.216.34') }),
    ).resolves.toBeUndefined();
    await expect(
      checkCallbackUrl('http://intranet.local/x', { allowedHosts: ['intranet.local'], resolve: resolveTo('10.0.0.5') }),
    ).resolves.toBeUndefined();
    await expect(checkCallbackUrl('http://2130706433/x', { allowedHosts: ['127.0.0.1'] })).resolves.toBeUndefined();
  });

  it('does not let a wildcard entry unlock private addresses', async () => {
    await expect(
      checkCallbackUrl('http://a.example.com/x', { allowedHosts: ['*.example.com'], resolve: resolveTo('127.0.0.1') }),
    ).rejects.toThrow(BadRequestError);
  });

  it('refuses a host that does not resolve', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    await expect(checkCallbackUrl('http://nowhere.invalid/x', { allowedHosts: [], resolve: failing })).rejects.toThrow(
      /does not resolve/,
    );
  });
});

describe('custom adapter: callback_url at ingress', () => {
  const body = (callbackUrl: string) =>
    JSON.stringify({
      message_id: 'm1',
      conversation_id: 'c1',
      sender: { id: 'u1' },
      text: 'hi',
      callback_url: callbackUrl,
    });
  const request = (raw: string) => ({
    headers: { 'x-conduit-signature': signCustomPayload('s', raw, Math.floor(NOW.getTime() / 1000)) },
    body: raw,
    receivedAt: NOW,
  });

  it('refuses a loopback callback_url unless its host is allow-listed', async () => {
    const strict = createCustomAdapter({ secrets: ['s'] }, deps);
    await expect(strict.receive(request(body('http://127.0.0.1:9/hook')))).rejects.toThrow(BadRequestError);
    const allowing = createCustomAdapter({ secrets: ['s'], callbackAllowedHosts: ['127.0.0.1'] }, deps);
    await expect(allowing.receive(request(body('http://127.0.0.1:9/hook')))).resolves.toMatchObject({
      kind: 'message',
    });
  });
});

describe('postCallback at connection time', () => {
  let server: ReturnType<typeof createServer>;
  let port: number;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect') return void res.writeHead(302, { location: `http://127.0.0.1:${port}/hook` }).end();
      res.writeHead(200).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const payload = {
    message_id: 'm:reply',
    conversation_id: 'c',
    in_reply_to: 'm',
    text: 't',
    format: 'text' as const,
    kind: 'reply' as const,
    idempotency_key: 'm:reply',
  };

  it('checks the address it connects to: a name that now resolves to loopback is refused (rebinding)', async () => {
    const error = await postCallback(
      { allowedHosts: [], resolve: resolveTo('127.0.0.1') },
      's',
      `http://rebound.example.com:${port}/hook`,
      payload,
      NOW,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(hits).not.toContain('/hook');
  });

  it('does not follow a redirect: the 302 is a permanent failure and its target is never called', async () => {
    hits.length = 0;
    const error = await postCallback(
      { allowedHosts: ['localhost.test'], resolve: resolveTo('127.0.0.1') },
      's',
      `http://localhost.test:${port}/redirect`,
      payload,
      NOW,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(false);
    expect(hits).toEqual(['/redirect']);
  });

  it('refuses an IP literal, which Node connects to without a lookup', async () => {
    await expect(
      postCallback({ allowedHosts: [] }, 's', `http://127.0.0.1:${port}/hook`, payload, NOW),
    ).rejects.toThrow(BadRequestError);
  });
});
