import { describe, expect, it } from 'vitest';
import { encryptFeishuEvent } from '../../test/fakes/feishu-open-api.js';
import { decryptFeishuPayload } from './decrypt.js';
import { checkFeishuSignature, computeFeishuSignature } from './signature.js';

// Test vectors from /work/shared/PROTOCOLS.md.
const KEY = 'test key';
const CIPHERTEXT =
  'AAECAwQFBgcICQoLDA0ODw9mLTIAZS9jAmGTQ1wAhHpnBHVL2wRjH9rPunQdQC1vLjsckayA10kZ8cPwtb62F8rC7JprUPR/4S2aZihfR+p8npX7UzWPithZmfKIPZgE';
const PLAINTEXT = '{"challenge":"ajls384kdjx98XX","token":"xxxxxx","type":"url_verification"}';
const RAW_BODY = `{"encrypt":"${CIPHERTEXT}"}`;
const SIGNATURE = 'd0173e438bdf976bb4ccf8db9648923287ac94b7e9cc1e8d1f01b736edcfa14b';

describe('Feishu decryption', () => {
  it('decrypts the PROTOCOLS.md ciphertext', () => {
    expect(decryptFeishuPayload(CIPHERTEXT, KEY)).toBe(PLAINTEXT);
  });

  it('round-trips with the fake server encryption helper (IV 00..0f gives the vector)', () => {
    const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    expect(encryptFeishuEvent(PLAINTEXT, KEY, iv)).toBe(CIPHERTEXT);
  });

  it('rejects a ciphertext made with another key, or of an impossible length', () => {
    const other = encryptFeishuEvent(PLAINTEXT, 'other key');
    expect(decryptFeishuPayload(other, KEY)).toBeUndefined();
    expect(decryptFeishuPayload('AAEC', KEY)).toBeUndefined();
  });
});

describe('Feishu signature', () => {
  const headers = { timestamp: '1700000000', nonce: 'abc123', signature: SIGNATURE };

  it('computes the PROTOCOLS.md signature', () => {
    expect(computeFeishuSignature('1700000000', 'abc123', KEY, RAW_BODY)).toBe(SIGNATURE);
  });

  it('accepts the vector within five minutes', () => {
    expect(checkFeishuSignature(headers, KEY, RAW_BODY, new Date(1700000300_000))).toBeUndefined();
  });

  it('rejects a timestamp more than five minutes old', () => {
    expect(checkFeishuSignature(headers, KEY, RAW_BODY, new Date(1700000301_000))).toBe('stale_timestamp');
  });

  it('rejects a tampered body, nonce or key', () => {
    const now = new Date(1700000000_000);
    expect(checkFeishuSignature(headers, KEY, `${RAW_BODY} `, now)).toBe('signature_mismatch');
    expect(checkFeishuSignature({ ...headers, nonce: 'abc124' }, KEY, RAW_BODY, now)).toBe('signature_mismatch');
    expect(checkFeishuSignature(headers, 'other key', RAW_BODY, now)).toBe('signature_mismatch');
  });
});
