// Where the payload keys come from: configuration when set (the only sound
// choice when several processes share a Temporal namespace), otherwise a key file generated
// once under the data directory, so an embedded `npm start` encrypts from its first run.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { type LoadedKeys, loadOrCreateKeyFile } from './key-file.js';
import { AesGcmPayloadCodec } from './payload-codec.js';
import type { SecuritySettings } from './settings.js';

export const PAYLOAD_KEY_FILE = 'payload-keys';

export function loadPayloadKeys(settings: Pick<SecuritySettings, 'payloadKeys' | 'keyDir'>): Promise<LoadedKeys> {
  if (settings.payloadKeys) {
    return Promise.resolve({ keys: settings.payloadKeys, source: 'CONDUIT_PAYLOAD_KEYS', created: false });
  }
  return loadOrCreateKeyFile(join(settings.keyDir, PAYLOAD_KEY_FILE), 'payload');
}

/** Encodes failure messages and stack traces so the codec seals them too (failure-converter.cjs). */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** The data converter every Temporal client and worker of this instance must share. */
export function createDataConverter(keys: LoadedKeys['keys']): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath };
}
