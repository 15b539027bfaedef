// Makes sure the namespace knows Conduit's search attributes (runs/search-attributes.ts) before anything starts a
// run: a run started or upserted with an unknown attribute is refused by the server, and a workflow task that
// upserts one fails again and again. The embedded dev server registers them with its start flags; on a cluster
// they are added here if the connection may (the operator API), and otherwise the start stops with the one-time
// command to run (docs/deploy.md).
import { status } from '@grpc/grpc-js';
import { type Client, isGrpcServiceError } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { CLI_TYPE_NAMES, CONDUIT_SEARCH_ATTRIBUTES } from '../runs/search-attributes.js';

// The default import: @temporalio/proto is CommonJS, and Node's ESM loader (npm start) offers no named exports.
const { IndexedValueType } = proto.temporal.api.enums.v1;

/** The one-time command that registers the attributes on a cluster, one `--name`/`--type` pair each. */
export function createSearchAttributesCommand(namespace: string): string {
  const pairs = CONDUIT_SEARCH_ATTRIBUTES.map((key) => `--name ${key.name} --type ${CLI_TYPE_NAMES[key.type]}`);
  return `temporal operator search-attribute create --namespace ${namespace} ${pairs.join(' ')}`;
}

export async function ensureSearchAttributes(
  client: Client,
  namespace: string,
): Promise<{ added: string[]; unchecked?: boolean }> {
  const missing = async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
    return CONDUIT_SEARCH_ATTRIBUTES.filter((key) => customAttributes?.[key.name] === undefined);
  };
  let absent: (typeof CONDUIT_SEARCH_ATTRIBUTES)[number][];
  try {
    absent = await missing();
  } catch (error) {
    // A cluster whose authorizer keeps the operator API from this process (or a service without it) cannot be
    // asked; runs started there fail loudly if the one-time step was skipped (docs/deploy.md).
    if (isGrpcServiceError(error) && [status.PERMISSION_DENIED, status.UNIMPLEMENTED].includes(error.code)) {
      return { added: [], unchecked: true };
    }
    throw error;
  }
  if (absent.length === 0) return { added: [] };
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        absent.map((key) => [
          key.name,
          key.type === SearchAttributeType.KEYWORD_LIST
            ? IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
            : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
  } catch (error) {
    // Another replica may have added them meanwhile; only what is still missing counts.
    const still = await missing();
    if (still.length > 0) {
      throw new Error(
        `Temporal namespace ${namespace} lacks Conduit's search attributes ${still.map((key) => key.name).join(', ')} and they could not be added (${(error as Error).message}); register them once with: ${createSearchAttributesCommand(namespace)}`,
      );
    }
  }
  return { added: absent.map((key) => key.name) };
}
