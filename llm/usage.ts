// Records what a run's model calls used: a row in llm_usage per call and the billed tokens in
// conduit_llm_tokens_total. Cache hits get a row marked cached and no token count, since nothing was billed.
import { sql } from 'drizzle-orm';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { type AlongsideWrite, preparedPerDatabase } from '../db/prepared.js';
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
  alongside?: AlongsideWrite,
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
  const values = Object.fromEntries(
    rows.flatMap((row, index) => columns.map((column) => [`${column}_${index}`, row[column]])),
  );
  await insertUsage(db, { variant: String(rows.length), alongside }).execute({ ...values, ...alongside?.values });
}

const columns = ['workflowId', 'provider', 'model', 'promptTokens', 'completionTokens', 'cached'] as const;

// Prepared per row count (one per model call of the step, a failover's calls included) and carried write.
const insertUsage = preparedPerDatabase((db, { variant, alongside }) => {
  const rows = Array.from({ length: Number(variant) }, (_, index) =>
    Object.fromEntries(columns.map((column) => [column, sql.placeholder(`${column}_${index}`)])),
  ) as unknown as (typeof llmUsage.$inferInsert)[];
  return (alongside ? db.with(alongside.cte(db)) : db).insert(llmUsage).values(rows).prepare('insert_llm_usage');
});
