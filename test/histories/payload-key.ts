// How the recorded histories in this folder are stored, shared by the recorder (record-histories.ts) and the
// replay test (../workflow-replay.test.ts). The payload key is test-only: it protects nothing but these fixtures,
// and both sides must use the same one, since a replay decodes every payload of the history.

import { parseKeyList } from '../../security/key-list.js';
import { createDataConverter } from '../../security/keys.js';

export const HISTORY_PAYLOAD_KEYS = 'histories-test-only:8dXK11VOP4JZjaHXcIVqJ/XfV89G9Vy1wWs+I2mMnY8=';

export const historyDataConverter = () => createDataConverter(parseKeyList(HISTORY_PAYLOAD_KEYS));

/**
 * The JSON form of a history here: protobufjs's object form of temporal.api.history.v1.History (longs and enums
 * as strings, bytes as base64), read back with History.fromObject. Not the CLI's proto JSON: the SDK's
 * historyToJSON/historyFromJSON fail in this install (@temporalio/common's protobufjs 8 is handed types built by
 * @temporalio/proto's protobufjs 7: "type must be a Type").
 */
export const HISTORY_JSON = { longs: String, enums: String, bytes: String, defaults: false } as const;
