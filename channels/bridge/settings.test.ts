import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { createChannelAdapters } from '../create-adapters.js';

const deps = { fetch: globalThis.fetch, now: () => new Date() };
const bridge = { BRIDGE_TOKEN: 'a-bridge-token-of-20', BRIDGE_REPLY_URL: 'http://127.0.0.1:9/replies' };

describe('bridge settings', () => {
  it('enable the bridge with a token and a reply URL, and leave it off without them', () => {
    const names = (vars: Record<string, string>) => [...createChannelAdapters(loadConfig(vars).channels, deps).keys()];
    expect(names(bridge)).toEqual(['bridge']);
    expect(names({})).toEqual([]);
  });

  it('refuse one without the other, a short token, or a reply URL that is not http(s)', () => {
    expect(() => loadConfig({ BRIDGE_TOKEN: bridge.BRIDGE_TOKEN })).toThrow(
      'BRIDGE_REPLY_URL: required when BRIDGE_TOKEN is set',
    );
    expect(() => loadConfig({ BRIDGE_REPLY_URL: bridge.BRIDGE_REPLY_URL })).toThrow(
      'BRIDGE_TOKEN: required when BRIDGE_REPLY_URL is set',
    );
    expect(() => loadConfig({ ...bridge, BRIDGE_TOKEN: 'short' })).toThrow(
      'BRIDGE_TOKEN: expected a token of at least 16 characters',
    );
    expect(() => loadConfig({ ...bridge, BRIDGE_REPLY_URL: 'ftp://example.com/x' })).toThrow(
      'BRIDGE_REPLY_URL: expected an http(s):// URL',
    );
  });
});
