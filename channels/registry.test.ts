import { describe, expect, it } from 'vitest';
import { loadConfig } from '../platform/config.js';
import { createChannelAdapters } from './create-adapters.js';
import { CHANNELS } from './registry.js';

const deps = { fetch: globalThis.fetch, now: () => new Date() };
const names = (vars: Record<string, string>) =>
  [...createChannelAdapters(loadConfig(vars).channels, deps).keys()].sort();

describe('channel registry', () => {
  it('registers no channel when none is configured', () => {
    expect(names({})).toEqual([]);
  });

  it('registers each channel only when its settings are complete', () => {
    expect(names({ CUSTOM_WEBHOOK_SECRET: 'a,b' })).toEqual(['custom']);
    expect(names({ DINGTALK_APP_KEY: 'k' })).toEqual([]);
    expect(names({ DINGTALK_APP_KEY: 'k', DINGTALK_APP_SECRET: 's' })).toEqual(['dingtalk']);
    expect(names({ FEISHU_APP_ID: 'id', FEISHU_APP_SECRET: 's' })).toEqual([]);
    expect(names({ FEISHU_APP_ID: 'id', FEISHU_APP_SECRET: 's', FEISHU_VERIFICATION_TOKEN: 't' })).toEqual(['feishu']);
    expect(names({ FEISHU_APP_ID: 'id', FEISHU_APP_SECRET: 's', FEISHU_ENCRYPT_KEY: 'k' })).toEqual(['feishu']);
  });

  it('registers Feishu with only the long connection on, to send replies (it then takes no webhooks)', () => {
    const longConnection = { FEISHU_APP_ID: 'cli_a1b2c3d4e5f60718', FEISHU_APP_SECRET: 's' };
    expect(names({ ...longConnection, FEISHU_LONG_CONNECTION: 'true' })).toEqual(['feishu']);
    expect(names(longConnection)).toEqual([]);
  });

  it('refuses a stream mode without the credentials it connects with', () => {
    expect(() => loadConfig({ DINGTALK_STREAM: 'true', DINGTALK_APP_KEY: 'k' })).toThrow(
      'DINGTALK_APP_SECRET: required when DINGTALK_STREAM is on',
    );
    expect(() => loadConfig({ FEISHU_LONG_CONNECTION: 'on' })).toThrow(
      'FEISHU_APP_ID: required when FEISHU_LONG_CONNECTION is on',
    );
    expect(() =>
      loadConfig({ FEISHU_LONG_CONNECTION: 'true', FEISHU_APP_ID: 'cli_app', FEISHU_APP_SECRET: 's' }),
    ).toThrow('FEISHU_APP_ID: expected an app id like cli_a1b2c3d4e5f6a7b8');
    expect(() => loadConfig({ DINGTALK_STREAM_GATEWAY_URL: 'not a url' })).toThrow('DINGTALK_STREAM_GATEWAY_URL');
    expect(
      loadConfig({ DINGTALK_STREAM: 'true', DINGTALK_APP_KEY: 'k', DINGTALK_APP_SECRET: 's' }).channels,
    ).toMatchObject({
      DINGTALK_STREAM: true,
      FEISHU_LONG_CONNECTION: false,
    });
  });

  it('registers all three together, keyed by adapter name', () => {
    expect(
      names({
        CUSTOM_WEBHOOK_SECRET: 'a',
        DINGTALK_APP_KEY: 'k',
        DINGTALK_APP_SECRET: 's',
        FEISHU_APP_ID: 'id',
        FEISHU_APP_SECRET: 's',
        FEISHU_VERIFICATION_TOKEN: 't',
      }),
    ).toEqual(['custom', 'dingtalk', 'feishu']);
  });
});

describe('channel definitions', () => {
  it('keep each channel’s variables in its own folder, named after the channel, none shared', () => {
    const seen = new Set<string>();
    for (const channel of CHANNELS) {
      for (const variable of Object.keys(channel.variables.shape)) {
        expect(variable.startsWith(`${channel.name.toUpperCase()}_`), variable).toBe(true);
        expect(seen.has(variable), variable).toBe(false);
        seen.add(variable);
      }
    }
    expect(new Set(CHANNELS.map((channel) => channel.name)).size).toBe(CHANNELS.length);
  });
});
