// The environment every Conduit Node process starts with, beside its own settings: the npm scripts and the image
// set the same values (package.json, Dockerfile); the production stack and the benchmarks pass these to the
// processes they start, so what is measured is what is deployed.
//
// MALLOC_ARENA_MAX: glibc gives every thread that allocates a malloc arena of its own, up to 8 per core, and
// memory freed in an arena stays with the process. The Temporal SDK's native threads allocate in many arenas
// while a worker starts and parks thousands of runs. With 2 arenas a worker holding 3,000 parked reminders
// measured 497 MiB against 727 MiB (docs/benchmarks.md). A value already set is kept.
export const MALLOC_ARENA_MAX = '2';

/** What a Conduit process is started with on top of its settings; `env` is the starter's own environment. */
export function nodeProcessEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX || MALLOC_ARENA_MAX };
}
