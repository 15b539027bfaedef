// parseAlertRules against the shape Prometheus answers GET /api/v1/rules?type=alert with (its documented fields,
// written out by hand for deploy/prometheus/alerts.yml), and fetchAlertRules against an address nothing answers.
import { describe, expect, it } from 'vitest';
import { fetchAlertRules, parseAlertRules } from './prometheus-alerts.js';

const recorded = {
  status: 'success',
  data: {
    groups: [
      {
        name: 'conduit-resources',
        file: '/deploy/prometheus/alerts.yml',
        rules: [
          {
            state: 'inactive',
            name: 'ConduitDataDiskAlmostFull',
            query: 'max by (instance) (conduit_data_dir_disk_used_ratio) > 0.9',
            duration: 600,
            labels: { severity: 'warning' },
            annotations: { summary: 'The Conduit data directory file system is more than 90% full' },
            alerts: [],
            health: 'ok',
            evaluationTime: 0.0003,
            lastEvaluation: '2026-11-29T05:20:01.5Z',
            type: 'alerting',
          },
          {
            state: 'firing',
            name: 'ConduitTargetDown',
            query: 'up{job="conduit"} == 0',
            duration: 120,
            labels: { severity: 'critical' },
            annotations: { summary: 'A Conduit process does not answer its metrics scrape' },
            alerts: [
              {
                labels: { alertname: 'ConduitTargetDown', instance: '10.0.0.7:9464', severity: 'critical' },
                annotations: { summary: 'A Conduit process does not answer its metrics scrape' },
                state: 'firing',
                activeAt: '2026-11-29T05:10:00.123456789Z',
                value: '0e+00',
              },
            ],
            health: 'ok',
            type: 'alerting',
          },
        ],
        interval: 15,
        limit: 0,
        evaluationTime: 0.001,
        lastEvaluation: '2026-11-29T05:20:01.5Z',
      },
      {
        name: 'node-exporter',
        rules: [{ state: 'firing', name: 'HostDown', alerts: [], type: 'alerting', annotations: {} }],
      },
    ],
  },
};

describe('parseAlertRules', () => {
  it("keeps the conduit* groups' rules with their state, summary and active alerts", () => {
    const result = parseAlertRules(recorded);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rules.map((rule) => [rule.name, rule.state])).toEqual([
      ['ConduitDataDiskAlmostFull', 'inactive'],
      ['ConduitTargetDown', 'firing'],
    ]);
    expect(result.rules[0]).toMatchObject({
      group: 'conduit-resources',
      summary: 'The Conduit data directory file system is more than 90% full',
      alerts: [],
    });
    expect(result.rules[1]!.alerts).toEqual([
      {
        labels: { alertname: 'ConduitTargetDown', instance: '10.0.0.7:9464', severity: 'critical' },
        state: 'firing',
        activeAt: new Date('2026-11-29T05:10:00.123Z'),
      },
    ]);
  });

  it('turns an error answer or a body that is not a rules response into an error', () => {
    expect(parseAlertRules({ status: 'error', errorType: 'bad_data', error: 'invalid parameter' })).toEqual({
      ok: false,
      error: 'Prometheus answered an error: invalid parameter',
    });
    expect(parseAlertRules('<html>')).toMatchObject({ ok: false });
    expect(parseAlertRules(null)).toMatchObject({ ok: false });
  });
});

describe('fetchAlertRules', () => {
  it('says a Prometheus that cannot be reached cannot be reached, without throwing', async () => {
    // Port 9 (discard) on loopback: nothing listens there in the test environment.
    const result = await fetchAlertRules('http://127.0.0.1:9');
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.error).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:9 cannot be reached/);
  });
});
