// The platform settings as platform/settings.ts parses them: TEMPORAL_UI_URL, where the console links runs.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/settings.js';
import { loadConfig } from './config.js';

describe('TEMPORAL_UI_URL', () => {
  it('is unset by default: the console falls back to the embedded UI it knows at start', () => {
    expect(loadConfig({}).temporal.uiUrl).toBeUndefined();
  });

  it('takes an http(s) URL and drops trailing slashes, so links join with one', () => {
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com/ui//' }).temporal.uiUrl).toBe(
      'https://temporal.example.com/ui',
    );
  });

  it('refuses what is not an http(s) URL, naming the variable', () => {
    for (const value of ['temporal.example.com', 'javascript:alert(1)', 'ftp://temporal.example.com']) {
      expect(() => loadConfig({ TEMPORAL_UI_URL: value })).toThrow(ConfigError);
      expect(() => loadConfig({ TEMPORAL_UI_URL: value })).toThrow(/TEMPORAL_UI_URL/);
    }
  });
});

describe('PROMETHEUS_URL', () => {
  it('is unset by default and drops trailing slashes when set', () => {
    expect(loadConfig({}).prometheusUrl).toBeUndefined();
    expect(loadConfig({ PROMETHEUS_URL: 'http://prometheus:9090/' }).prometheusUrl).toBe('http://prometheus:9090');
  });

  it('refuses what is not an http(s) URL, naming the variable', () => {
    for (const value of ['prometheus:9090', 'file:///etc/passwd']) {
      expect(() => loadConfig({ PROMETHEUS_URL: value })).toThrow(/PROMETHEUS_URL/);
    }
  });
});
