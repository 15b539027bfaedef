// Checks, before anything starts, that every port a process is about to listen on is free, and names the
// setting to change when one is not: a start that fails halfway (after the dev server came up, or after a
// worker began polling someone else's Temporal) is harder to read and to clean up than one line up front.
import { createServer } from 'node:net';

export interface PortClaim {
  port: number;
  host: string;
  /** The setting that chooses this port, named in the error. */
  setting: string;
}

export class PortInUseError extends Error {
  constructor(readonly claim: PortClaim) {
    super(
      `port ${claim.port} on ${claim.host} is already in use (${claim.setting}): stop what listens there or set ${claim.setting} to a free port`,
    );
    this.name = 'PortInUseError';
  }
}

/** Throws PortInUseError for the first claimed port that cannot be bound; port 0 (any free port) is skipped. */
export async function checkPorts(claims: PortClaim[]): Promise<void> {
  for (const claim of claims) {
    if (claim.port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new PortInUseError(claim) : error),
      );
      server.listen({ port: claim.port, host: claim.host, exclusive: true }, () => server.close(() => resolve()));
    });
  }
}
