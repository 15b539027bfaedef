// Keeps a message run's search attributes (runs/search-attributes.ts) up to date as it goes: intent, current step,
// outcome, model and the tools it called, so a person finds it in the Temporal UI by what it did. Upserts only
// what changed, and only on runs started since the attributes exist: runs recorded before replay unchanged.

import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunStatus } from '../runs/contract.js';
import {
  INTENT_ATTRIBUTE,
  MODEL_ATTRIBUTE,
  OUTCOME_ATTRIBUTE,
  STEP_ATTRIBUTE,
  TOOLS_ATTRIBUTE,
} from '../runs/search-attributes.js';

export interface RunLabels {
  /** Sets the attributes that changed since the last call (the run's status is read as it is now). */
  publish(): void;
  /**
   * Only the UI's current details (no history event): for a step that runs in the same workflow task as the
   * next `publish`, where an upsert would be one more event nobody outside the task can see.
   */
  note(): void;
  /** The model planning this run, once known. */
  setModel(model: string | undefined): void;
  /** Notes a tool the model asked for (asked counts: a run waiting to run http_request is found by it). */
  addTool(name: string): void;
}

/** `alwaysOn`: the run's generation includes the labels (run-generation.ts), so the older patch is not asked. */
export function createRunLabels(status: RunStatus, alwaysOn: boolean): RunLabels {
  // Decided once, at the run's start: a run in flight when this shipped keeps its history as recorded.
  const enabled = alwaysOn || patched('search-attributes');
  let model: string | undefined;
  const tools: string[] = [];
  const sent = new Map<string, string>();

  return {
    publish() {
      // The UI's "current details": where the run is, in one line (read by a query, so no history event).
      setCurrentDetails(currentDetails(status, tools));
      if (!enabled) return;
      const updates: SearchAttributeUpdatePair[] = [];
      const keyword = (key: typeof STEP_ATTRIBUTE, value: string | undefined) => {
        if (value === undefined || sent.get(key.name) === value) return;
        sent.set(key.name, value);
        updates.push({ key, value });
      };
      keyword(STEP_ATTRIBUTE, status.step);
      keyword(INTENT_ATTRIBUTE, status.intent?.name);
      keyword(OUTCOME_ATTRIBUTE, status.outcome);
      keyword(MODEL_ATTRIBUTE, model);
      const toolList = tools.join(',');
      if (tools.length > 0 && sent.get(TOOLS_ATTRIBUTE.name) !== toolList) {
        sent.set(TOOLS_ATTRIBUTE.name, toolList);
        updates.push({ key: TOOLS_ATTRIBUTE, value: [...tools] });
      }
      if (updates.length > 0) upsertSearchAttributes(updates);
    },
    note() {
      setCurrentDetails(currentDetails(status, tools));
    },
    setModel(name) {
      model = name;
    },
    addTool(name) {
      if (!tools.includes(name)) tools.push(name);
    },
  };
}

function currentDetails(status: RunStatus, tools: string[]): string {
  const parts = [`step: ${status.step}`];
  if (status.intent) parts.push(`intent: ${status.intent.name}`);
  if (tools.length > 0) parts.push(`tools: ${tools.join(', ')}`);
  if (status.pendingApproval)
    parts.push(`waiting for approval ${status.pendingApproval.jobId} (${status.pendingApproval.tool})`);
  if (status.outcome) parts.push(`outcome: ${status.outcome}`);
  return parts.join(' · ');
}

/** `tool http_get api.example.com`: the tool, and the host when its arguments name a URL. */
export function toolSummary(call: { name: string; arguments: string }): string {
  let host: string | undefined;
  try {
    const args = JSON.parse(call.arguments) as { url?: unknown };
    if (typeof args?.url === 'string') host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/:?#]+)/i.exec(args.url)?.[1];
  } catch {
    // Arguments that are not JSON: the tool's name alone.
  }
  return host ? `tool ${call.name} ${host}` : `tool ${call.name}`;
}
