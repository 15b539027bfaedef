import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createSecretBox, isSealed, SecretBoxError } from './secret-box.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const SECRET = 'feishu-app-secret-0123456789';

describe('secret box', () => {
  it('seals to text without the plaintext and opens it again', () => {
    const box = createSecretBox([key('m1')]);
    const sealed = box.seal(SECRET);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed.startsWith('v1.m1.')).toBe(true);
    expect(sealed).not.toContain(SECRET);
    expect(box.seal(SECRET)).not.toBe(sealed);
    expect(box.open(sealed)).toBe(SECRET);
    expect(box.open(box.seal(''))).toBe('');
    expect(box.open(box.seal('密钥 🔑'))).toBe('密钥 🔑');
  });

  it('binds the context: a value sealed for one row does not open for another', () => {
    const box = createSecretBox([key('m1')]);
    const sealed = box.seal(SECRET, 'channel:feishu');
    expect(box.open(sealed, 'channel:feishu')).toBe(SECRET);
    expect(() => box.open(sealed, 'channel:dingtalk')).toThrow(SecretBoxError);
    expect(() => box.open(sealed)).toThrow(/failed authentication/);
  });

  it('opens values sealed with an older key after a rotation and says they need re-sealing', () => {
    const old = key('m1');
    const sealedBefore = createSecretBox([old]).seal(SECRET);
    const rotated = createSecretBox([key('m2'), old]);
    expect(rotated.open(sealedBefore)).toBe(SECRET);
    expect(rotated.needsRotation(sealedBefore)).toBe(true);
    expect(rotated.needsRotation(rotated.seal(SECRET))).toBe(false);
    expect(() => createSecretBox([key('m2')]).open(sealedBefore)).toThrow(/no master key with id "m1"/);
  });

  it('refuses altered and malformed values without echoing them', () => {
    const box = createSecretBox([key('m1')]);
    const parts = box.seal(SECRET).split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0] = ciphertext[0]! ^ 1;
    parts[3] = ciphertext.toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow(SecretBoxError);
    expect(() => box.open('plain text')).toThrow('not a sealed secret');
    expect(() => box.open('v1.m1.AA.AA.AA')).toThrow('malformed sealed secret');
  });

  it('never shows key material when logged, inspected or serialized', () => {
    const k = key('m1');
    const box = createSecretBox([k]);
    const lines: string[] = [];
    const logger = pino({}, { write: (line: string) => lines.push(line) });
    logger.info({ box }, 'box');
    const shown = [JSON.stringify({ box }), inspect(box, { depth: 5 }), lines.join('')];
    for (const text of shown) {
      expect(text).toContain('SecretBox m1');
      expect(text).not.toContain(k.key.toString('base64'));
      expect(text).not.toContain(k.key.toString('hex'));
    }
  });

  it('rejects unusable keys', () => {
    expect(() => createSecretBox([])).toThrow(SecretBoxError);
    expect(() => createSecretBox([{ id: 'm1', key: randomBytes(31) }])).toThrow(/32 bytes/);
    expect(() => createSecretBox([{ id: 'a.b', key: randomBytes(32) }])).toThrow(/dots/);
  });
});
