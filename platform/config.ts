// The one place that composes the settings: each domain parses its own slice of the environment
// (`<domain>/settings.ts`) and this file hands every slice to the process as one Config. process.env is read by
// the entry points only; a bad value becomes one ConfigError naming the variable.

import { type ChannelSettings, parseChannelSettings } from '../channels/settings.js';
import type { Variables } from '../core/settings.js';
import { type DatabaseSettings, parseDatabaseSettings } from '../db/settings.js';
import { type LlmSettings, parseLlmSettings } from '../llm/settings.js';
import { type PiiMaskingSettings, parsePiiMaskingSettings } from '../pii/settings.js';
import { type PrivacySettings, parsePrivacySettings } from '../privacy/settings.js';
import { type PipelineSettings, parsePipelineSettings } from '../runs/settings.js';
import { parseSecuritySettings, type SecuritySettings } from '../security/settings.js';
import { type BlobSettings, parseBlobSettings } from '../storage/settings.js';
import { parseToolSettings, type ToolSettings } from '../tools/settings.js';
import { type PlatformSettings, parsePlatformSettings } from './settings.js';

export interface Config extends PlatformSettings {
  database: DatabaseSettings;
  blobs: BlobSettings;
  pipeline: PipelineSettings;
  tools: ToolSettings;
  /** Providers, per-role failover lists and the response cache (llm/settings.ts); unset: no model. */
  llm?: LlmSettings;
  piiMasking: PiiMaskingSettings;
  privacy: PrivacySettings;
  channels: ChannelSettings;
  security: SecuritySettings;
}

/**
 * Parses an environment (process.env by default) into Config; throws ConfigError on the first bad variable.
 * The model providers are resolved last: they may read LLM_CONFIG_FILE, once every variable is known good.
 */
export function loadConfig(source: Variables = process.env): Config {
  const platform = parsePlatformSettings(source);
  const { dataDir } = platform;
  const database = parseDatabaseSettings(source, dataDir);
  const blobs = parseBlobSettings(source, dataDir);
  const pipeline = parsePipelineSettings(source);
  const piiMasking = parsePiiMaskingSettings(source);
  const privacy = parsePrivacySettings(source);
  const tools = parseToolSettings(source);
  const channels = parseChannelSettings(source);
  const security = parseSecuritySettings(source, { dataDir, temporalUiPort: platform.temporal.uiPort });
  const llm = parseLlmSettings(source);
  return {
    ...platform,
    database,
    blobs,
    pipeline,
    tools,
    llm,
    piiMasking,
    privacy,
    channels,
    security,
  };
}
