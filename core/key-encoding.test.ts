import { describe, expect, it } from 'vitest';
import { TRICKY_IDS } from '../test/support/tricky-ids.js';
import { decodeKeyPart, encodeKeyPart } from './key-encoding.js';

describe('encodeKeyPart', () => {
  it('leaves ids of safe characters as they are', () => {
    for (const id of ['om_1a2b3c', 'msg-ABC.123', 'u1', 'Team_Ops-2']) expect(encodeKeyPart(id)).toBe(id);
  });

  it('never maps two different ids to one key part, and writes no separator', () => {
    const seen = new Map<string, string>();
    for (const id of TRICKY_IDS) {
      const encoded = encodeKeyPart(id);
      expect(seen.get(encoded), `${JSON.stringify(id)} collides`).toBeUndefined();
      seen.set(encoded, id);
      expect(encoded).toMatch(/^[A-Za-z0-9_.=-]*$/);
      expect(decodeKeyPart(encoded)).toBe(id);
    }
    expect(encodeKeyPart('team:ops')).toBe('team=3Aops');
    expect(encodeKeyPart('=')).toBe('=3D');
    expect(encodeKeyPart('\ud800')).toBe('=uD800');
  });

  it('round-trips random strings of awkward characters', () => {
    const alphabet = [
      'a',
      'Z',
      '0',
      '_',
      '-',
      '.',
      '=',
      ':',
      '/',
      '%',
      ' ',
      '\u0000',
      'é',
      '😀',
      '\ud800',
      '\udfff',
      'u',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const seen = new Map<string, string>();
    for (let round = 0; round < 3000; round += 1) {
      const length = next() % 6;
      let id = '';
      for (let index = 0; index < length; index += 1) id += alphabet[next() % alphabet.length];
      const encoded = encodeKeyPart(id);
      expect(decodeKeyPart(encoded)).toBe(id);
      const earlier = seen.get(encoded);
      if (earlier !== undefined) expect(earlier).toBe(id);
      seen.set(encoded, id);
    }
  });
});
