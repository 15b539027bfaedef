// The privacy settings as privacy/settings.ts parses them: retention defaults, 0 for "keep forever", and errors that
// name the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/settings.js';
import { loadConfig } from '../platform/config.js';

describe('privacy settings', () => {
  it('keep transcripts as written, for a year, run events for a month and audit rows forever by default', () => {
    expect(loadConfig({}).privacy).toEqual({
      anonymiseTranscripts: false,
      retentionDays: { messages: 365, runEvents: 30, audit: undefined, blobs: 365 },
      erasureTwoPerson: false,
    });
  });

  it('take days per class, 0 meaning forever, and the anonymising and two-person switches', () => {
    const { privacy } = loadConfig({
      TRANSCRIPT_ANONYMISE: 'true',
      RETENTION_MESSAGES_DAYS: '0',
      RETENTION_RUN_EVENTS_DAYS: '3',
      RETENTION_AUDIT_DAYS: '2555',
      RETENTION_BLOBS_DAYS: '90',
      PRIVACY_ERASURE_TWO_PERSON: 'yes',
    });
    expect(privacy).toEqual({
      anonymiseTranscripts: true,
      retentionDays: { messages: undefined, runEvents: 3, audit: 2555, blobs: 90 },
      erasureTwoPerson: true,
    });
  });

  it.each(['-1', '1.5', 'a week'])('refuse %s days, naming the variable', (value) => {
    expect(() => loadConfig({ RETENTION_AUDIT_DAYS: value })).toThrow(
      new ConfigError('RETENTION_AUDIT_DAYS', 'expected a whole number of days (0 keeps forever)'),
    );
  });
});
