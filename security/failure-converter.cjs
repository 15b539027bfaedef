// The failure converter every Temporal client, worker and workflow bundle of this instance shares: failure
// messages and stack traces are moved into `encodedAttributes`, which the payload codec encrypts, so the
// history holds no plaintext error text (an error can quote the user's message). CommonJS on purpose: the SDK
// loads it by path with require() (DataConverter.failureConverterPath) and bundles it into the workflow sandbox.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
