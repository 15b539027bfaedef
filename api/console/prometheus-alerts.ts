// Conduit's alert rules as a Prometheus evaluates them (GET /api/v1/rules?type=alert): each rule's state,
// summary and active alerts, for the health screen. Only groups named conduit* are kept (deploy/prometheus/
// alerts.yml); anything else the Prometheus evaluates is not Conduit's to show.

/** How long the health screen waits for Prometheus before saying it cannot be reached. */
const FETCH_TIMEOUT_MS = 2000;

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface ActiveAlert {
  labels: Record<string, string>;
  state: AlertState;
  activeAt?: Date;
}

export interface AlertRule {
  group: string;
  name: string;
  state: AlertState;
  summary?: string;
  alerts: ActiveAlert[];
}

export type AlertRulesResult = { ok: true; rules: AlertRule[] } | { ok: false; error: string };

interface RulesResponse {
  status?: string;
  error?: string;
  data?: {
    groups?: Array<{
      name?: string;
      rules?: Array<{
        type?: string;
        name?: string;
        state?: string;
        annotations?: Record<string, string>;
        alerts?: Array<{ labels?: Record<string, string>; state?: string; activeAt?: string }>;
      }>;
    }>;
  };
}

const STATES: readonly string[] = ['inactive', 'pending', 'firing'];

function state(value: string | undefined): AlertState {
  return STATES.includes(value ?? '') ? (value as AlertState) : 'inactive';
}

/** The conduit* groups' alert rules from a /api/v1/rules body; an error when the body is not a success. */
export function parseAlertRules(body: unknown): AlertRulesResult {
  const response = body as RulesResponse | null;
  if (response?.status !== 'success' || !Array.isArray(response.data?.groups)) {
    return { ok: false, error: `Prometheus answered an error: ${response?.error ?? 'not a rules response'}` };
  }
  const rules: AlertRule[] = [];
  for (const group of response.data.groups) {
    if (!group.name?.startsWith('conduit')) continue;
    for (const rule of group.rules ?? []) {
      if (rule.type !== 'alerting' || !rule.name) continue;
      rules.push({
        group: group.name,
        name: rule.name,
        state: state(rule.state),
        summary: rule.annotations?.summary,
        alerts: (rule.alerts ?? []).map((alert) => {
          const activeAt = alert.activeAt ? new Date(alert.activeAt) : undefined;
          return {
            labels: alert.labels ?? {},
            state: state(alert.state),
            activeAt: activeAt && !Number.isNaN(activeAt.getTime()) ? activeAt : undefined,
          };
        }),
      });
    }
  }
  return { ok: true, rules };
}

/** Asks Prometheus for its alert rules; never throws: an unreachable or failing Prometheus is an error result. */
export async function fetchAlertRules(prometheusUrl: string): Promise<AlertRulesResult> {
  const url = `${prometheusUrl}/api/v1/rules?type=alert`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s`
        : ((error as Error).cause as Error | undefined)?.message || (error as Error).message;
    return { ok: false, error: `Prometheus at ${prometheusUrl} cannot be reached (${reason})` };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return {
      ok: false,
      error: `Prometheus at ${prometheusUrl} answered HTTP ${response.status}, not a rules response`,
    };
  }
  const result = parseAlertRules(body);
  if (!result.ok && !response.ok) return { ok: false, error: `${result.error} (HTTP ${response.status})` };
  return result;
}
