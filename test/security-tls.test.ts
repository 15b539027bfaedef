// The API over TLS with certificates made by openssl: HTTPS with TLS 1.2 as the floor (a TLS 1.1 client is
// refused, while the same client can talk to a server that allows 1.1), and mutual TLS that refuses
// connections without a certificate from the configured CA and hands the subject to authorization.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ConnectionOptions, connect, createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from './support/certificates.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let certs: TestCertificates;
let ca: Buffer;

beforeAll(async () => {
  certs = await createTestCertificates();
  ca = await readFile(certs.caCert);
});
afterAll(async () => {
  await certs?.remove();
});

const portOf = (url: string) => Number(new URL(url).port);

/** One HTTPS request with explicit TLS options; resolves with status and body, rejects on a refused handshake. */
function httpsGet(
  url: string,
  options: { headers?: Record<string, string>; cert?: Buffer; key?: Buffer } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca, cert: options.cert, key: options.key, headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Completes a TLS handshake (or fails) with the given options; resolves with the negotiated protocol. */
function handshake(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ...options }, () => {
      const protocol = socket.getProtocol() ?? 'unknown';
      socket.end();
      resolve(protocol);
    });
    socket.on('error', reject);
  });
}

const TLS_1_1_CLIENT: ConnectionOptions = {
  minVersion: 'TLSv1.1',
  maxVersion: 'TLSv1.1',
  // Let the client offer the old protocol at all; the server must be the one that says no.
  ciphers: 'DEFAULT@SECLEVEL=0',
};

describe('HTTPS', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(
      { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey },
      { worker: false },
    );
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('serves the API over HTTPS', async () => {
    expect(platform.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await httpsGet(`${platform.apiUrl}/healthz`);
    expect(health.status).toBe(200);
    const whoami = await httpsGet(`${platform.apiUrl}/v1/whoami`, {
      headers: { authorization: `Bearer ${platform.adminKey}` },
    });
    expect(JSON.parse(whoami.body)).toMatchObject({ principal: { role: 'admin' } });
    expect(JSON.parse(whoami.body).principal.clientCertificate).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${portOf(platform.apiUrl)}/healthz`)).rejects.toThrow();
  });

  it('accepts TLS 1.2 and 1.3 and refuses a TLS 1.1 client', async () => {
    const port = portOf(platform.apiUrl);
    expect(await handshake(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
    expect(await handshake(port, { minVersion: 'TLSv1.3' })).toBe('TLSv1.3');
    await expect(handshake(port, TLS_1_1_CLIENT)).rejects.toThrow();
  });

  it('(control) the TLS 1.1 client does connect to a server that still allows TLS 1.1', async () => {
    const legacy = createServer(
      {
        cert: await readFile(certs.serverCert),
        key: await readFile(certs.serverKey),
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      (socket) => socket.end(),
    );
    await new Promise<void>((resolve) => legacy.listen(0, '127.0.0.1', resolve));
    try {
      expect(await handshake((legacy.address() as AddressInfo).port, TLS_1_1_CLIENT)).toBe('TLSv1.1');
    } finally {
      legacy.close();
    }
  });
});

describe('mutual TLS', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(
      { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey, TLS_CLIENT_CA_FILE: certs.caCert },
      { worker: false },
    );
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses a connection without a client certificate', async () => {
    await expect(httpsGet(`${platform.apiUrl}/healthz`)).rejects.toThrow();
  });

  it('refuses a client certificate from another CA', async () => {
    await expect(
      httpsGet(`${platform.apiUrl}/healthz`, {
        cert: await readFile(certs.strangerCert),
        key: await readFile(certs.strangerKey),
      }),
    ).rejects.toThrow();
  });

  it('accepts the CA’s client certificate and hands its subject to authorization', async () => {
    const client = { cert: await readFile(certs.clientCert), key: await readFile(certs.clientKey) };
    expect((await httpsGet(`${platform.apiUrl}/healthz`, client)).status).toBe(200);
    const whoami = await httpsGet(`${platform.apiUrl}/v1/whoami`, {
      ...client,
      headers: { authorization: `Bearer ${platform.adminKey}` },
    });
    expect(whoami.status).toBe(200);
    expect(JSON.parse(whoami.body)).toMatchObject({
      principal: { role: 'admin', clientCertificate: 'CN=ops-bot, O=Example' },
    });
  });
});
