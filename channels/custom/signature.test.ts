import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../core/errors.js';
import { signCustomPayload, verifyCustomSignature } from './signature.js';

// Test vector from /work/shared/PROTOCOLS.md.
const BODY = '{"message_id":"m1","conversation_id":"c1","sender":{"id":"u1","name":"Ann"},"text":"hello"}';
const VECTOR = 'bba30379ad07ff4cd69b91cd5e628c224c08e5b176ad75fc92e91f846dfb2acb';
const T = 1700000000;
const AT_T = new Date(T * 1000);

describe('custom webhook signature', () => {
  it('signs the PROTOCOLS.md vector', () => {
    expect(signCustomPayload('whsec_test', BODY, T)).toBe(`t=${T},v1=${VECTOR}`);
  });

  it('accepts the vector within the clock window', () => {
    expect(() => verifyCustomSignature(`t=${T},v1=${VECTOR}`, BODY, ['whsec_test'], AT_T)).not.toThrow();
    expect(() =>
      verifyCustomSignature(`t=${T},v1=${VECTOR}`, BODY, ['whsec_test'], new Date((T + 300) * 1000)),
    ).not.toThrow();
  });

  it('rejects a timestamp more than 300 seconds old or ahead', () => {
    const header = `t=${T},v1=${VECTOR}`;
    expect(() => verifyCustomSignature(header, BODY, ['whsec_test'], new Date((T + 301) * 1000))).toThrow(
      UnauthorizedError,
    );
    expect(() => verifyCustomSignature(header, BODY, ['whsec_test'], new Date((T - 301) * 1000))).toThrow(
      UnauthorizedError,
    );
  });

  it('rejects a body altered after signing', () => {
    expect(() =>
      verifyCustomSignature(`t=${T},v1=${VECTOR}`, BODY.replace('hello', 'hullo'), ['whsec_test'], AT_T),
    ).toThrow(/does not match/);
  });

  it('rejects a signature made with an unknown secret', () => {
    const forged = signCustomPayload('someone-else', BODY, T);
    expect(() => verifyCustomSignature(forged, BODY, ['whsec_test'], AT_T)).toThrow(UnauthorizedError);
  });

  it('rejects a signature whose timestamp was changed (the timestamp is signed)', () => {
    const header = `t=${T + 10},v1=${VECTOR}`;
    expect(() => verifyCustomSignature(header, BODY, ['whsec_test'], AT_T)).toThrow(/does not match/);
  });

  it('during rotation accepts a signature by either configured secret', () => {
    const secrets = ['whsec_new', 'whsec_test'];
    expect(() => verifyCustomSignature(signCustomPayload('whsec_test', BODY, T), BODY, secrets, AT_T)).not.toThrow();
    expect(() => verifyCustomSignature(signCustomPayload('whsec_new', BODY, T), BODY, secrets, AT_T)).not.toThrow();
  });

  it('accepts a header with several v1 entries when any one matches', () => {
    const other = signCustomPayload('retired', BODY, T).split(',v1=')[1];
    const header = `t=${T},v1=${other},v1=${VECTOR}`;
    expect(() => verifyCustomSignature(header, BODY, ['whsec_test'], AT_T)).not.toThrow();
  });

  it('rejects missing and malformed headers', () => {
    for (const header of [
      undefined,
      '',
      `v1=${VECTOR}`,
      `t=${T}`,
      `t=abc,v1=${VECTOR}`,
      `t=${T},t=${T},v1=${VECTOR}`,
    ]) {
      expect(() => verifyCustomSignature(header, BODY, ['whsec_test'], AT_T)).toThrow(UnauthorizedError);
    }
  });
});
