// Records what a run's model calls used: a row in llm_usage per call and the billed tokens in
// conduit_llm_tokens_total. Cache hits get a row marked cached and no token count, since nothing was billed.
import type { WithSubquery } from 'drizzle-orm';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { llmUsage } from '../db/schema.js';
import type { ChatResult } from './types.js';

/**
 * `alongside` is a write the caller makes right after (the step's run event), sent in this statement to save a
 * round trip; with no results there is no statement, and the caller writes it on its own.
 */
export async function recordLlmUsage(
  db: Database,
  metrics: Pick<Metrics, 'llmTokens'>,
  workflowId: string,
  results: ChatResult[],
  alongside?: WithSubquery,
): Promise<void> {
  if (results.length === 0) return;
  const rows = results.map((result) => {
    const provider = result.servedBy?.provider ?? 'unknown';
    const model = result.servedBy?.model ?? result.model;
    const cached = result.servedBy?.cached ?? false;
    if (!cached) {
      metrics.llmTokens.inc({ provider, model, kind: 'prompt' }, result.usage.promptTokens);
      metrics.llmTokens.inc({ provider, model, kind: 'completion' }, result.usage.completionTokens);
    }
    return {
      workflowId,
      provider,
      model,
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      cached,
    };
  });
  await (alongside ? db.with(alongside) : db).insert(llmUsage).values(rows);
}
