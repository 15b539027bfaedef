import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { createChannelAdapters } from './registry.js';

const deps = { fetch: globalThis.fetch, now: () => new Date() };
const names = (vars: Record<string, string>) => [...createChannelAdapters(loadConfig(vars).env, deps).keys()].sort();

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
