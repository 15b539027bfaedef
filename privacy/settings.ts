// What Conduit keeps and for how long: anonymised transcripts (TRANSCRIPT_ANONYMISE), days per data class
// (RETENTION_*) and whether erasing a user's data needs a second admin (PRIVACY_ERASURE_TWO_PERSON).
import { z } from 'zod';
import { booleanFlag, optionalString, parseVariables, type Variables } from '../core/settings.js';

/** Days to keep a data class (privacy/retention.ts); 0 keeps it forever, as unset does where there is no default. */
const retentionDays = (fallback?: number) =>
  optionalString
    .refine(
      (value) => value === undefined || /^\d{1,6}$/.test(value),
      'expected a whole number of days (0 keeps forever)',
    )
    .transform((value) => (value === undefined ? fallback : Number(value) === 0 ? undefined : Number(value)));

const privacyVariables = z.object({
  TRANSCRIPT_ANONYMISE: booleanFlag(false),
  RETENTION_MESSAGES_DAYS: retentionDays(365),
  RETENTION_RUN_EVENTS_DAYS: retentionDays(30),
  RETENTION_AUDIT_DAYS: retentionDays(),
  RETENTION_BLOBS_DAYS: retentionDays(365),
  PRIVACY_ERASURE_TWO_PERSON: booleanFlag(false),
});

export interface PrivacySettings {
  /** Store message text with personal data replaced by placeholders, irreversibly (TRANSCRIPT_ANONYMISE). */
  anonymiseTranscripts: boolean;
  /** Days each data class is kept; unset: forever. */
  retentionDays: { messages?: number; runEvents?: number; audit?: number; blobs?: number };
  /** Erasing a user's data needs two different admins within a day (PRIVACY_ERASURE_TWO_PERSON). */
  erasureTwoPerson: boolean;
}

export function parsePrivacySettings(source: Variables): PrivacySettings {
  const env = parseVariables(privacyVariables, source);
  return {
    anonymiseTranscripts: env.TRANSCRIPT_ANONYMISE,
    retentionDays: {
      messages: env.RETENTION_MESSAGES_DAYS,
      runEvents: env.RETENTION_RUN_EVENTS_DAYS,
      audit: env.RETENTION_AUDIT_DAYS,
      blobs: env.RETENTION_BLOBS_DAYS,
    },
    erasureTwoPerson: env.PRIVACY_ERASURE_TWO_PERSON,
  };
}
