// The API process's watch over the audit chain: verifies it at start and every five minutes, sets
// conduit_audit_chain_valid (1 or 0) for alerting, and logs the verified head. The head it saw last is the anchor
// of the next check (rows removed from the end are noticed), and the logged heads, shipped off the host with
// the logs, are an external record a rewrite of the whole chain cannot match.
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { type AuditVerification, type ChainHead, sealLegacyAuditRows, verifyAuditChain } from './chain.js';

export const AUDIT_CHECK_INTERVAL_MS = 5 * 60_000;

export interface AuditMonitor {
  /** Verifies now (joining a check already under way) and updates the metric. */
  check(): Promise<AuditVerification>;
  /** Stops the timer and waits for a check under way, so it never outlives the database. */
  stop(): Promise<void>;
}

/** The chain's gauges, registered once per registry: only processes that watch the chain (API processes) export them. */
export function auditGauges(registry: Registry) {
  const valid =
    (registry.getSingleMetric('conduit_audit_chain_valid') as Gauge | undefined) ??
    new Gauge({
      name: 'conduit_audit_chain_valid',
      help: '1 when the audit log hash chain verified at the last check, 0 when a row was altered, removed or reordered',
      registers: [registry],
    });
  const checkedAt =
    (registry.getSingleMetric('conduit_audit_chain_last_check_timestamp_seconds') as Gauge | undefined) ??
    new Gauge({
      name: 'conduit_audit_chain_last_check_timestamp_seconds',
      help: 'When the audit chain was last verified (Unix time), whatever the outcome',
      registers: [registry],
    });
  return { valid, checkedAt };
}

export function startAuditMonitor(
  deps: { db: Database; metrics: Metrics; logger: Logger },
  intervalMs = AUDIT_CHECK_INTERVAL_MS,
): AuditMonitor {
  const { db, logger } = deps;
  const { valid, checkedAt } = auditGauges(deps.metrics.registry);

  let anchor: ChainHead | undefined;
  let running: Promise<AuditVerification> | undefined;
  let sealed = false;

  const run = async (): Promise<AuditVerification> => {
    if (!sealed) {
      const count = await sealLegacyAuditRows(db);
      if (count > 0) logger.info({ rows: count }, 'audit rows written before the hash chain were sealed into it');
      sealed = true;
    }
    const result = await verifyAuditChain(db, { anchor });
    valid.set(result.ok ? 1 : 0);
    checkedAt.set(Date.now() / 1000);
    if (result.ok) {
      if (result.head) anchor = result.head;
      logger.info({ checked: result.checked, head: result.head }, 'audit chain verified');
    } else {
      logger.error(
        { firstBadSequence: result.firstBadSequence, reason: result.reason, anchor },
        'audit chain does not verify: the audit log was tampered with',
      );
    }
    return result;
  };

  const check = () => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
  const periodic = () => void check().catch((error) => logger.warn({ err: error }, 'audit chain check could not run'));

  periodic();
  const timer = setInterval(periodic, intervalMs);
  timer.unref();
  return {
    check,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
