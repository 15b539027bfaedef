/** @jsxImportSource hono/jsx */
// The health screen: the /readyz checks; each channel's ingress (a stream connection's state, last delivery and
// last error as this process saw them; a webhook's last run from the runs table); each model provider's breaker
// and last answer and failure, read from the worker when one runs in this process. What is not known here is
// said, with where to look instead. The alert rules' state comes from Prometheus (PROMETHEUS_URL) when one is set.
import { Hono } from 'hono';
import { API_CHANNEL } from '../../../channels/api/adapter.js';
import { GRPC_CHANNEL } from '../../../channels/grpc/adapter.js';
import type { StreamStatus } from '../../../channels/stream-status.js';
import { WS_CHANNEL } from '../../../channels/websocket/adapter.js';
import type { ProviderStatus } from '../../../llm/roles.js';
import { lastRunStartByChannel } from '../../../runs/run-record.js';
import type { ApiDeps } from '../../deps.js';
import { readiness } from '../../routes/health.js';
import { Page } from '../layout.js';
import { type AlertRule, type AlertRulesResult, fetchAlertRules } from '../prometheus-alerts.js';
import { allowed, type ConsoleEnv, forbidden, utc } from '../screen.js';

/** How far back a webhook channel's last run is looked for (the runs_started index bounds the scan). */
const LAST_RUN_WINDOW_DAYS = 7;

const STREAM_INGRESS = { stream: 'DingTalk Stream', 'long-connection': 'Feishu long connection' } as const;
/** Channels the API itself carries: clients call in, there is no connection or webhook of a platform. */
const API_INGRESS: Record<string, string> = {
  [API_CHANNEL]: 'HTTP API',
  [WS_CHANNEL]: 'WebSocket',
  [GRPC_CHANNEL]: 'gRPC',
};

export function healthScreen(deps: ApiDeps) {
  const app = new Hono<ConsoleEnv>();

  app.get('/console/health', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:read')) return forbidden(c, session, 'runs:read');
    const since = new Date(Date.now() - LAST_RUN_WINDOW_DAYS * 24 * 3600_000);
    const prometheusUrl = deps.config.prometheusUrl;
    const [{ components }, lastRuns, alertRules] = await Promise.all([
      readiness(deps),
      lastRunStartByChannel(deps.database.db, since).catch(() => undefined),
      prometheusUrl ? fetchAlertRules(prometheusUrl) : undefined,
    ]);
    const labels = { temporal: 'Temporal', database: 'Database', objectStore: 'Object store' } as const;
    const streams = new Map((deps.streamStatus?.() ?? []).map((status) => [status.channel, status]));
    const providers = deps.modelProviders?.();
    return c.html(
      <Page title="Health" session={session} current="/console/health">
        <h1>Health</h1>
        <h2>Readiness (the /readyz checks)</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">State</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {(Object.keys(labels) as Array<keyof typeof labels>).map((name) => {
              const result = components[name];
              return (
                <tr>
                  <td>{labels[name]}</td>
                  <td>{result.ok ? 'up' : 'down'}</td>
                  <td>{result.ok ? '' : result.error}</td>
                </tr>
              );
            })}
          </tbody>
        </table>

        <h2>Channels</h2>
        <p>
          Stream connections as this API process sees them. A webhook's last delivery is its newest run in the runs
          table (last {LAST_RUN_WINDOW_DAYS} days); its refusals are counted in{' '}
          <code>conduit_inbound_messages_total</code>, not kept here.
        </p>
        <table>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Ingress</th>
              <th scope="col">Connection</th>
              <th scope="col">Last delivery</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {[...deps.channels.keys()].sort().map((channel) => {
              const stream = streams.get(channel);
              if (stream) return <StreamRow status={stream} />;
              const lastRun = lastRuns?.get(channel);
              return (
                <tr>
                  <td>{channel}</td>
                  <td>{API_INGRESS[channel] ?? 'webhook'}</td>
                  <td>{API_INGRESS[channel] ? 'clients call the API' : 'none (the platform calls in)'}</td>
                  <td>
                    {lastRuns === undefined
                      ? 'unknown (runs table unavailable)'
                      : lastRun
                        ? `${utc(lastRun)} (newest run)`
                        : `none in ${LAST_RUN_WINDOW_DAYS} days`}
                  </td>
                  <td>not tracked</td>
                </tr>
              );
            })}
          </tbody>
        </table>

        <h2>Model providers</h2>
        <ModelProviders deps={deps} providers={providers} />

        <h2>Alerts</h2>
        <Alerts prometheusUrl={prometheusUrl} result={alertRules} />
      </Page>,
    );
  });

  return app;
}

function Alerts({ prometheusUrl, result }: { prometheusUrl?: string; result?: AlertRulesResult }) {
  if (!prometheusUrl || !result) {
    return (
      <p>
        No Prometheus is configured, so the alert rules' state is not shown here. Set <code>PROMETHEUS_URL</code> to the
        Prometheus that loads <code>deploy/prometheus/alerts.yml</code> (docs/operations.md).
      </p>
    );
  }
  if (!result.ok) return <p>The alert rules' state is not known: {result.error}.</p>;
  if (result.rules.length === 0) {
    return (
      <p>
        Prometheus at {prometheusUrl} evaluates no Conduit alert rule (no group named conduit…): does it load{' '}
        <code>deploy/prometheus/alerts.yml</code>?
      </p>
    );
  }
  return (
    <>
      <p>Conduit's alert rules as Prometheus at {prometheusUrl} evaluates them.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Alert</th>
            <th scope="col">State</th>
            <th scope="col">Active</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>
          {result.rules.map((rule) => (
            <tr>
              <td>{rule.name}</td>
              <td>{rule.state}</td>
              <td>
                <ActiveAlerts rule={rule} />
              </td>
              <td>{rule.summary ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ActiveAlerts({ rule }: { rule: AlertRule }) {
  if (rule.alerts.length === 0) return <>none</>;
  return (
    <ul>
      {rule.alerts.map((alert) => {
        // alertname and severity repeat the rule; the labels that tell alerts apart (instance, provider…) stay.
        const labels = Object.entries(alert.labels)
          .filter(([name]) => name !== 'alertname' && name !== 'severity')
          .map(([name, value]) => `${name}=${value}`)
          .join(', ');
        return (
          <li>
            {alert.state} {labels ? `(${labels}) ` : ''}
            {alert.activeAt ? `since ${utc(alert.activeAt)}` : ''}
          </li>
        );
      })}
    </ul>
  );
}

function StreamRow({ status }: { status: StreamStatus }) {
  const connection = status.since
    ? `${status.connected ? 'up' : 'down'} since ${utc(status.since)}`
    : 'connecting (no answer yet)';
  return (
    <tr>
      <td>{status.channel}</td>
      <td>{STREAM_INGRESS[status.transport]}</td>
      <td>{connection}</td>
      <td>{status.lastDeliveryAt ? utc(status.lastDeliveryAt) : 'none since this process started'}</td>
      <td>{status.lastError ? `${utc(status.lastError.at)}: ${status.lastError.message}` : 'none'}</td>
    </tr>
  );
}

function ModelProviders({ deps, providers }: { deps: ApiDeps; providers: ProviderStatus[] | undefined }) {
  const configured = deps.config.llm?.providers ?? [];
  if (configured.length === 0) return <p>No model provider is configured.</p>;
  if (providers === undefined) {
    // The breakers live in the worker's memory: an API without a worker in its process cannot see them.
    return (
      <>
        <p>
          No worker runs in this process, so breaker state and last calls are not known here. Read the worker's{' '}
          <code>conduit_llm_breaker_open</code> metric (per provider: 1 = open or probing, 0 = closed) on its{' '}
          <code>/metrics</code>.
        </p>
        <ul>
          {configured.map((provider) => (
            <li>
              {provider.name} ({provider.model})
            </li>
          ))}
        </ul>
      </>
    );
  }
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Provider</th>
          <th scope="col">Model</th>
          <th scope="col">Roles</th>
          <th scope="col">Breaker</th>
          <th scope="col">Last answer</th>
          <th scope="col">Last failure</th>
        </tr>
      </thead>
      <tbody>
        {providers.map((provider) => (
          <tr>
            <td>{provider.name}</td>
            <td>{provider.model}</td>
            <td>{provider.roles.join(', ') || 'none'}</td>
            <td>{breakerText(provider)}</td>
            <td>{provider.lastSuccessAt ? utc(provider.lastSuccessAt) : 'none since start'}</td>
            <td>{provider.lastFailureAt ? utc(provider.lastFailureAt) : 'none since start'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function breakerText(provider: ProviderStatus): string {
  if (provider.breaker === 'closed') return 'closed';
  if (provider.breaker === 'half-open') return 'probing (one call is testing the provider)';
  return provider.openUntil ? `open until ${utc(provider.openUntil)}` : 'open (the next call probes)';
}
