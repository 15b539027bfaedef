// Links from the console to a run's page in the Temporal UI: TEMPORAL_UI_URL, or the embedded dev server's UI
// when this process started one; undefined when neither is known (the console then shows the id without a link).
import type { ApiDeps } from '../deps.js';

export type TemporalUiLink = (workflowId: string, runId?: string) => string | undefined;

export function temporalUiLinks({ config, embeddedTemporalUiUrl }: Pick<ApiDeps, 'config' | 'embeddedTemporalUiUrl'>) {
  const base = config.temporal.uiUrl ?? embeddedTemporalUiUrl;
  const namespace = encodeURIComponent(config.temporal.namespace);
  const link: TemporalUiLink = (workflowId, runId) => {
    if (!base) return undefined;
    const workflow = `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`;
    // Without a run id the UI opens the workflow's latest run.
    return runId ? `${workflow}/${encodeURIComponent(runId)}/history` : workflow;
  };
  return link;
}
