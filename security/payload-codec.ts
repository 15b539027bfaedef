// AES-256-GCM payload codec: every payload Temporal stores (workflow inputs, activity results, signals,
// queries) is encrypted before it leaves the process. Same wire format as Temporal's `encryption` samples:
// the whole original payload (protobuf) is sealed as iv(12) || ciphertext || tag(16), and the new payload
// says `encoding: binary/encrypted` and which key sealed it, so several keys can be live during a rotation.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// A CommonJS module whose exports Node cannot list statically: import it whole.
import proto from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface EncryptionKey {
  id: string;
  /** 32 random bytes. */
  key: Buffer;
}

/** A payload could not be decrypted: unknown key id, or the data was altered. Never includes key material. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: EncryptionKey;
  private readonly byId: Map<string, Buffer>;

  /** `keys[0]` encrypts; every key decrypts payloads that name its id. */
  constructor(keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('the payload codec needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== KEY_BYTES) throw new Error(`payload key ${id} must be ${KEY_BYTES} bytes`);
    }
    this.current = keys[0]!;
    this.byId = new Map(keys.map(({ id, key }) => [id, key]));
    if (this.byId.size !== keys.length) throw new Error('payload key ids must be unique');
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plaintext = ProtoPayload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: utf8(ENCODING_ENCRYPTED),
          [METADATA_KEY_ID]: utf8(this.current.id),
        },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before encryption was turned on (or by another codec chain) pass through untouched.
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING_ENCRYPTED) return payload;
      const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
      const key = keyId === undefined ? undefined : this.byId.get(keyId);
      if (!key) throw new PayloadDecryptionError(`no payload key with id ${JSON.stringify(keyId ?? '')}`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plaintext: Buffer;
      try {
        plaintext = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        throw new PayloadDecryptionError(`payload sealed with key ${keyId} failed authentication`);
      }
      return ProtoPayload.decode(plaintext);
    });
  }
}
