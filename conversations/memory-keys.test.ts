import { describe, expect, it } from 'vitest';
import { TRICKY_IDS } from '../test/support/tricky-ids.js';
import { legacyMemorySnapshotPrefix, memorySnapshotPrefix } from './memory.js';

describe('memorySnapshotPrefix', () => {
  it('gives every conversation its own prefix, none a prefix of another (erasure lists by prefix)', () => {
    const ids = [...TRICKY_IDS, ...TRICKY_IDS.map((id) => `api:${id}`), ...TRICKY_IDS.map((id) => `feishu:${id}`)];
    for (const a of ids) {
      for (const b of ids) {
        if (a !== b) expect(memorySnapshotPrefix(b).startsWith(memorySnapshotPrefix(a)), `${a} / ${b}`).toBe(false);
      }
    }
  });

  it('keeps team:ops and team_3Aops apart, which the earlier encoding did not', () => {
    expect(legacyMemorySnapshotPrefix('api:team:ops')).toBe(legacyMemorySnapshotPrefix('api:team_3Aops'));
    expect(memorySnapshotPrefix('api:team:ops')).not.toBe(memorySnapshotPrefix('api:team_3Aops'));
  });

  it('never writes under a prefix an older version used for another conversation', () => {
    const ids = TRICKY_IDS.map((id) => `api:${id}`);
    expect(legacyMemorySnapshotPrefix('api:\ud800')).toBeUndefined();
    for (const a of ids) for (const b of ids) expect(memorySnapshotPrefix(a)).not.toBe(legacyMemorySnapshotPrefix(b));
  });
});
