import { describe, expect, it } from 'vitest';
import { loadConduitService, peerAddress } from './server.js';

describe('peerAddress', () => {
  it('reads the address out of grpc-js peer strings', () => {
    expect(peerAddress('ipv4:10.0.0.1:5000')).toBe('10.0.0.1');
    expect(peerAddress('ipv6:[::1]:5000')).toBe('::1');
    expect(peerAddress('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerAddress('unix:/tmp/socket')).toBeUndefined();
  });
});

describe('loadConduitService', () => {
  it('finds both methods of conduit.v1.Conduit in the proto file', () => {
    const service = loadConduitService();
    expect(service.SendMessage).toMatchObject({ path: '/conduit.v1.Conduit/SendMessage', responseStream: false });
    expect(service.WatchRun).toMatchObject({ path: '/conduit.v1.Conduit/WatchRun', responseStream: true });
  });
});
