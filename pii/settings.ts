// When text bound for a model is masked (LLM_PII_MASKING) and whether the placeholders can be turned back into
// the originals in the reply (PII_MASKING_REVERSIBLE).
import { z } from 'zod';
import { booleanFlag, parseVariables, type Variables } from '../core/settings.js';

const piiVariables = z.object({
  LLM_PII_MASKING: z.enum(['auto', 'on', 'off'], { error: 'expected auto, on or off' }).default('auto'),
  PII_MASKING_REVERSIBLE: booleanFlag(false),
});

export interface PiiMaskingSettings {
  /** auto masks personal data only for providers outside this machine's private network. */
  llm: 'auto' | 'on' | 'off';
  reversible: boolean;
}

export function parsePiiMaskingSettings(source: Variables): PiiMaskingSettings {
  const env = parseVariables(piiVariables, source);
  return { llm: env.LLM_PII_MASKING, reversible: env.PII_MASKING_REVERSIBLE };
}
