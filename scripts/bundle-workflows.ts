// `npm run workflows:bundle`: builds the workflow bundle into the cache ahead of time (workers/workflow-bundle.ts),
// so no worker start pays for webpack, e.g. in an image build after `npm ci`. Starting a worker does the same
// when the cache has no bundle for the current sources.
import { failureConverterPath } from '../security/keys.js';
import { prepareWorkflowBundle } from '../workers/workflow-bundle.js';

// The workers' data converter (security/keys.ts createDataConverter) bundles this failure converter in.
await prepareWorkflowBundle({ dataConverter: { failureConverterPath }, log: (line) => console.log(line) });
