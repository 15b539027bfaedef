import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, ENCODING_ENCRYPTED, METADATA_KEY_ID, PayloadDecryptionError } from './payload-codec.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const plain = (value: unknown) => defaultPayloadConverter.toPayload(value) as Payload;
const metadataText = (payload: Payload, name: string) => Buffer.from(payload.metadata?.[name] ?? []).toString();

describe('AesGcmPayloadCodec', () => {
  it('encrypts so the plaintext is absent and decrypts back to the original payload', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const original = plain({ text: 'the quarterly numbers are 42' });
    const [sealed] = await codec.encode([original]);
    expect(metadataText(sealed!, 'encoding')).toBe(ENCODING_ENCRYPTED);
    expect(metadataText(sealed!, METADATA_KEY_ID)).toBe('k1');
    expect(Buffer.from(sealed!.data!).includes('quarterly')).toBe(false);
    expect(Buffer.from(original.data!).includes('quarterly')).toBe(true);
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ text: 'the quarterly numbers are 42' });
    expect(metadataText(opened!, 'encoding')).toBe('json/plain');
  });

  it('uses a fresh IV per payload, so equal inputs give different ciphertexts', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const [a, b] = await codec.encode([plain('same'), plain('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('encrypts with the first key and still decrypts payloads sealed with an older one', async () => {
    const oldKey = key('old');
    const newKey = key('new');
    const [sealedBefore] = await new AesGcmPayloadCodec([oldKey]).encode([plain('before rotation')]);
    const rotated = new AesGcmPayloadCodec([newKey, oldKey]);
    const [sealedAfter] = await rotated.encode([plain('after rotation')]);
    expect(metadataText(sealedAfter!, METADATA_KEY_ID)).toBe('new');
    const decoded = await rotated.decode([sealedBefore!, sealedAfter!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['before rotation', 'after rotation']);
  });

  it('refuses a payload sealed with a key it does not hold', async () => {
    const [sealed] = await new AesGcmPayloadCodec([key('gone')]).encode([plain('x')]);
    await expect(new AesGcmPayloadCodec([key('k1')]).decode([sealed!])).rejects.toThrow(PayloadDecryptionError);
  });

  it('refuses altered ciphertext and a wrong key under a matching id', async () => {
    const k1 = key('k1');
    const codec = new AesGcmPayloadCodec([k1]);
    const [sealed] = await codec.encode([plain('integrity')]);
    const tampered = Buffer.from(sealed!.data!);
    tampered[20] = tampered[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: tampered }])).rejects.toThrow(/failed authentication/);
    await expect(new AesGcmPayloadCodec([key('k1')]).decode([sealed!])).rejects.toThrow(/failed authentication/);
    await expect(codec.decode([{ ...sealed!, data: new Uint8Array(5) }])).rejects.toThrow(/truncated/);
  });

  it('passes payloads that were never encrypted through unchanged', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const original = plain({ legacy: true });
    const [decoded] = await codec.decode([original]);
    expect(decoded).toBe(original);
  });

  it('rejects unusable key sets', () => {
    expect(() => new AesGcmPayloadCodec([])).toThrow(/at least one key/);
    expect(() => new AesGcmPayloadCodec([{ id: 'short', key: randomBytes(16) }])).toThrow(/32 bytes/);
    const k = key('dup');
    expect(() => new AesGcmPayloadCodec([k, { ...k }])).toThrow(/unique/);
  });
});
