// TLS for both directions: the HTTPS listener of the API (TLS 1.2 or newer; with a client CA, mutual TLS
// that refuses connections without a certificate the CA signed), and the Temporal client's TLS/mTLS
// settings, shared by the Client and the worker's native connection.
import { readFile } from 'node:fs/promises';
import { createServer, type ServerOptions } from 'node:https';
import type { TLSConfig } from '@temporalio/client';
import type { SecuritySettings } from './settings.js';

export const MIN_TLS_VERSION = 'TLSv1.2';

/** TLS to the Temporal frontend (TEMPORAL_TLS*, parsed with the other Temporal settings in platform/settings.ts). */
export interface TemporalTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
}

async function readNamed(path: string, variable: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Options for @hono/node-server's serve(): HTTPS via node:https, or nothing (plain HTTP) without TLS settings. */
export async function httpsServeOptions(
  tls: SecuritySettings['tls'],
): Promise<{ createServer: typeof createServer; serverOptions: ServerOptions } | undefined> {
  if (!tls) return undefined;
  const [cert, key, ca] = await Promise.all([
    readNamed(tls.certFile, 'TLS_CERT_FILE'),
    readNamed(tls.keyFile, 'TLS_KEY_FILE'),
    tls.clientCaFile ? readNamed(tls.clientCaFile, 'TLS_CLIENT_CA_FILE') : undefined,
  ]);
  return {
    createServer,
    serverOptions: {
      cert,
      key,
      minVersion: MIN_TLS_VERSION,
      ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
  };
}

/** The `tls` option of Connection.connect / NativeConnection.connect; undefined for a plaintext connection. */
export async function temporalTlsConfig(tls: TemporalTls | undefined): Promise<TLSConfig | undefined> {
  if (!tls) return undefined;
  const [ca, crt, key] = await Promise.all([
    tls.caFile ? readNamed(tls.caFile, 'TEMPORAL_TLS_CA_FILE') : undefined,
    tls.certFile ? readNamed(tls.certFile, 'TEMPORAL_TLS_CERT_FILE') : undefined,
    tls.keyFile ? readNamed(tls.keyFile, 'TEMPORAL_TLS_KEY_FILE') : undefined,
  ]);
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
  };
}
