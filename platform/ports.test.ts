import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';
import { checkPorts, PortInUseError } from './ports.js';

let held: Server | undefined;
afterEach(() => held?.close());

describe('checkPorts', () => {
  it('passes free ports and names the setting of a busy one in one line', async () => {
    const free = await freePort();
    await expect(checkPorts([{ port: free, host: '127.0.0.1', setting: 'PORT' }])).resolves.toBeUndefined();

    const busy = await freePort();
    held = createServer();
    await new Promise<void>((resolve) => held!.listen(busy, '127.0.0.1', resolve));
    const failure = checkPorts([
      { port: free, host: '127.0.0.1', setting: 'PORT' },
      { port: busy, host: '127.0.0.1', setting: 'TEMPORAL_DEV_PORT' },
    ]);
    await expect(failure).rejects.toBeInstanceOf(PortInUseError);
    await expect(failure).rejects.toThrow(
      `port ${busy} on 127.0.0.1 is already in use (TEMPORAL_DEV_PORT): stop what listens there or set TEMPORAL_DEV_PORT to a free port`,
    );
  });

  it('skips port 0, which asks for any free port', async () => {
    await expect(checkPorts([{ port: 0, host: '127.0.0.1', setting: 'PORT' }])).resolves.toBeUndefined();
  });
});
