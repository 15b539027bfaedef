// The alerting rules and the Prometheus configuration checked by the real promtool: the rule unit tests in
// deploy/prometheus/alerts.test.yml, and `promtool check config` over prometheus.yml and the rules it loads.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, runTool } from './support/ops-binaries.js';
import { projectRoot } from './support/platform.js';

const prometheusDir = join(projectRoot, 'deploy/prometheus');
let promtool: string;

beforeAll(() => {
  promtool = requireBinary('promtool');
});

describe('the Prometheus alerting rules', () => {
  it('pass their promtool unit tests (every alert fires on its case and stays quiet on the near miss)', () => {
    const result = runTool(promtool, ['test', 'rules', 'alerts.test.yml'], prometheusDir);
    expect(result.output).toContain('SUCCESS');
    expect(result.status, result.output).toBe(0);
  });

  it('are valid rules, loaded by a valid prometheus.yml', () => {
    const rules = runTool(promtool, ['check', 'rules', 'alerts.yml'], prometheusDir);
    expect(rules.status, rules.output).toBe(0);
    const config = runTool(promtool, ['check', 'config', 'prometheus.yml'], prometheusDir);
    expect(config.status, config.output).toBe(0);
    expect(config.output).toMatch(/SUCCESS: 1 rule files found/);
  });
});
