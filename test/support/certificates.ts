// Throwaway X.509 material made with the openssl CLI for TLS tests: a CA, a server certificate for
// 127.0.0.1, a client certificate the CA signed, and one from a stranger CA.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  strangerCert: string;
  strangerKey: string;
  remove(): Promise<void>;
}

async function makeCa(dir: string, name: string) {
  const [cert, key] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
  await run('openssl', ['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  return { cert, key };
}

async function issue(
  dir: string,
  name: string,
  subject: string,
  ca: { cert: string; key: string },
  extensions: string,
) {
  const [cert, key, csr, ext] = ['crt', 'key', 'csr', 'ext'].map((suffix) => join(dir, `${name}.${suffix}`)) as [
    string,
    string,
    string,
    string,
  ];
  await writeFile(ext, `${extensions}\n`);
  await run('openssl', ['req', ...EC, '-keyout', key, '-out', csr, '-subj', subject]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-certs-'));
  const ca = await makeCa(dir, 'conduit-test-ca');
  const stranger = await makeCa(dir, 'stranger-ca');
  const server = await issue(
    dir,
    'server',
    '/CN=127.0.0.1',
    ca,
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth',
  );
  const client = await issue(dir, 'client', '/CN=ops-bot/O=Example', ca, 'extendedKeyUsage=clientAuth');
  const rogue = await issue(dir, 'rogue', '/CN=ops-bot/O=Example', stranger, 'extendedKeyUsage=clientAuth');
  return {
    dir,
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    strangerCert: rogue.cert,
    strangerKey: rogue.key,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
