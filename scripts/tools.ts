// `npm run tools`: builds (once) the real components the tests run against, the Temporal CLI, MinIO, and the
// Temporal server with its SQL tool, into .tools/bin, with progress, so the test run itself never waits on a silent multi-minute build.
import { fileURLToPath } from 'node:url';
import {
  acquireGoTool,
  formatDuration,
  minioSpec,
  temporalServerSpec,
  temporalSqlToolSpec,
} from '../platform/go-tool.js';
import { temporalCliSpec } from '../platform/temporal-dev-server.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const progress = (line: string) => console.error(`tools: ${line}`);
const started = Date.now();
const needTemporal = !process.env.TEMPORAL_ADDRESS;

// The Temporal server and its SQL tool run the production topology (scripts/prod-stack.ts) for the fault suite.
const specs = [
  ...(needTemporal ? [temporalCliSpec(process.env.TEMPORAL_CLI_VERSION ?? 'v1.5.1')] : []),
  minioSpec,
  temporalServerSpec,
  temporalSqlToolSpec,
];
// The builds run side by side, except the SQL tool, which waits for the server: both come from one module, so
// it then reuses the server's compiled packages instead of compiling them a second time alongside.
const acquire = (spec: (typeof specs)[number]) => acquireGoTool(projectRoot, spec, progress);
const server = acquire(temporalServerSpec);
const results = await Promise.allSettled(
  specs.map((spec) =>
    spec === temporalServerSpec
      ? server
      : spec === temporalSqlToolSpec
        ? server.catch(() => undefined).then(() => acquire(spec))
        : acquire(spec),
  ),
);
let failed = false;
results.forEach((result, index) => {
  const label = specs[index]!.label;
  if (result.status === 'rejected') {
    failed = true;
    progress(`${label}: ${result.reason instanceof Error ? result.reason.message : result.reason}`);
  } else if (!result.value) {
    failed = true;
    progress(
      `${label}: not on PATH, not in .tools/bin, and no Go toolchain to build it (install Go, or put it on PATH)`,
    );
  } else {
    progress(`${label}: ${result.value.path} (${result.value.source})`);
  }
});
if (failed) process.exit(1);
progress(`ready in ${formatDuration(Date.now() - started)}`);
