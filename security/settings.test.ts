// The security settings as security/settings.ts parses them: defaults, validation messages naming the variable,
// and the settings that must come together.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/settings.js';
import { loadConfig } from '../platform/config.js';

const key = () => randomBytes(32).toString('base64');
const configError = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('security settings', () => {
  it('defaults to a generated payload key file, the embedded UI origins and per-process rate limits', () => {
    const { security, temporal } = loadConfig({ CONDUIT_DATA_DIR: '/srv/conduit', TEMPORAL_UI_PORT: '9233' });
    expect(security.payloadKeys).toBeUndefined();
    expect(security.keyDir).toBe('/srv/conduit/keys');
    expect(security.temporalUiOrigins).toEqual(['http://127.0.0.1:9233', 'http://localhost:9233']);
    expect(security.rateLimit).toEqual({ perKeyPerMinute: 600, perIpPerMinute: 1200 });
    expect(security.oidc).toBeUndefined();
    expect(security.tls).toBeUndefined();
    expect(temporal.tls).toBeUndefined();
  });

  it('parses payload keys, and names a bad one without printing it', () => {
    const a = key();
    const { security } = loadConfig({
      CONDUIT_PAYLOAD_KEYS: `new:${a},old:${key()}`,
    });
    expect(security.payloadKeys?.map((k) => k.id)).toEqual(['new', 'old']);
    expect(security.payloadKeys?.[0]?.key.toString('base64')).toBe(a);
    const short = randomBytes(8).toString('base64');
    const message = configError({ CONDUIT_PAYLOAD_KEYS: `k1:${short}` });
    expect(message).toMatch(/^CONDUIT_PAYLOAD_KEYS: key 1 \(k1\): expected 32 bytes/);
    expect(message).not.toContain(short);
  });

  it('builds the OIDC settings, the key set left to discovery, and requires an audience', () => {
    const { security } = loadConfig({ OIDC_ISSUER: 'https://id.example.com/realms/acme/', OIDC_AUDIENCE: 'conduit' });
    expect(security.oidc).toEqual({
      issuer: 'https://id.example.com/realms/acme/',
      audience: ['conduit'],
      jwksUrl: undefined,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockToleranceSeconds: 30,
      roleClaim: 'roles',
    });
    expect(configError({ OIDC_ISSUER: 'https://id.example.com' })).toBe(
      'OIDC_AUDIENCE: required when OIDC_ISSUER is set',
    );
    expect(
      configError({ OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'a', OIDC_ALGORITHMS: 'HS256' }),
    ).toMatch(/^OIDC_ALGORITHMS: HS256 is not one of RS256, ES256, EdDSA/);
  });

  it('builds the console client only with a client id, and only under an issuer', () => {
    const base = { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'conduit' };
    expect(
      loadConfig({ ...base, OIDC_CONSOLE_CLIENT_ID: 'console', OIDC_CONSOLE_CLIENT_SECRET: 's3cret' }).security.oidc
        ?.console,
    ).toEqual({
      clientId: 'console',
      clientSecret: 's3cret',
      redirectUrl: undefined,
    });
    expect(configError({ OIDC_CONSOLE_CLIENT_ID: 'console' })).toBe(
      'OIDC_ISSUER: required when OIDC_CONSOLE_CLIENT_ID is set',
    );
    expect(configError({ ...base, OIDC_CONSOLE_CLIENT_SECRET: 's3cret' })).toBe(
      'OIDC_CONSOLE_CLIENT_ID: required when OIDC_CONSOLE_CLIENT_SECRET is set',
    );
  });

  it('validates address lists and origins', () => {
    const { security } = loadConfig({
      IP_ALLOWLIST_API: '10.0.0.0/8, 2001:db8::/32,192.0.2.1',
      TRUSTED_PROXIES: '127.0.0.1',
      TEMPORAL_UI_ORIGIN: 'https://temporal.example.com/',
    });
    expect(security.ipAllowlist.api).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
    expect(security.temporalUiOrigins).toEqual(['https://temporal.example.com']);
    expect(configError({ IP_ALLOWLIST_WEBHOOKS: '10.0.0.0/33' })).toMatch(
      /^IP_ALLOWLIST_WEBHOOKS: 10.0.0.0\/33 is not/,
    );
    expect(configError({ TRUSTED_PROXIES: 'proxy.internal' })).toMatch(/^TRUSTED_PROXIES: proxy.internal is not/);
    expect(configError({ TEMPORAL_UI_ORIGIN: 'https://ui.example.com/path' })).toMatch(/^TEMPORAL_UI_ORIGIN/);
  });

  it('requires TLS files in pairs', () => {
    expect(configError({ TLS_CERT_FILE: '/c.pem' })).toBe('TLS_KEY_FILE: required when TLS_CERT_FILE is set');
    expect(configError({ TLS_CLIENT_CA_FILE: '/ca.pem' })).toMatch(/^TLS_(CERT|KEY)_FILE: required/);
    expect(configError({ TEMPORAL_TLS_CERT_FILE: '/c.pem' })).toBe(
      'TEMPORAL_TLS_KEY_FILE: required when TEMPORAL_TLS_CERT_FILE is set',
    );
    const { security, temporal } = loadConfig({
      TLS_CERT_FILE: '/c.pem',
      TLS_KEY_FILE: '/k.pem',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(security.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem', clientCaFile: undefined });
    expect(temporal.tls).toEqual({ serverName: 'temporal.internal' });
  });

  it('has no master key: nothing stores secrets in the database, so neither the box nor its setting exist', () => {
    const { security } = loadConfig({ CONDUIT_MASTER_KEY: `m1:${key()}` });
    expect(Object.keys(security)).not.toContain('masterKeys');
    expect(existsSync(new URL('./secret-box.ts', import.meta.url))).toBe(false);
    for (const file of ['../README.md', '../docker-compose.yml', '../deploy/k8s/secret.example.yaml']) {
      expect(readFileSync(new URL(file, import.meta.url), 'utf8'), file).not.toContain('CONDUIT_MASTER_KEY');
    }
  });
});
