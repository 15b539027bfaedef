import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsServeOptions, MIN_TLS_VERSION, temporalTlsConfig } from './tls.js';

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-tls-'));
  for (const name of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(file(name), `-----${name}-----\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('temporalTlsConfig', () => {
  it('is undefined without settings, and plain TLS with system roots when only enabled', async () => {
    expect(await temporalTlsConfig(undefined)).toBeUndefined();
    expect(await temporalTlsConfig({})).toEqual({});
  });

  it('reads the CA, the client pair and the server name for mTLS', async () => {
    const tls = await temporalTlsConfig({
      caFile: file('ca.pem'),
      certFile: file('cert.pem'),
      keyFile: file('key.pem'),
      serverName: 'temporal.internal',
    });
    expect(tls?.serverNameOverride).toBe('temporal.internal');
    expect(Buffer.from(tls!.serverRootCACertificate!).toString()).toBe('-----ca.pem-----\n');
    expect(Buffer.from(tls!.clientCertPair!.crt).toString()).toBe('-----cert.pem-----\n');
    expect(Buffer.from(tls!.clientCertPair!.key).toString()).toBe('-----key.pem-----\n');
  });

  it('names the variable whose file cannot be read', async () => {
    await expect(temporalTlsConfig({ caFile: file('missing.pem') })).rejects.toThrow(
      /^TEMPORAL_TLS_CA_FILE: cannot read .*ENOENT/,
    );
  });
});

describe('httpsServeOptions', () => {
  it('serves TLS 1.2+ and turns on client verification only with a client CA', async () => {
    expect(await httpsServeOptions(undefined)).toBeUndefined();
    const plain = await httpsServeOptions({ certFile: file('cert.pem'), keyFile: file('key.pem') });
    expect(plain?.serverOptions).toMatchObject({ minVersion: MIN_TLS_VERSION });
    expect(plain?.serverOptions.requestCert).toBeUndefined();
    const mutual = await httpsServeOptions({
      certFile: file('cert.pem'),
      keyFile: file('key.pem'),
      clientCaFile: file('ca.pem'),
    });
    expect(mutual?.serverOptions).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
    await expect(httpsServeOptions({ certFile: file('nope'), keyFile: file('key.pem') })).rejects.toThrow(
      /^TLS_CERT_FILE/,
    );
  });
});
