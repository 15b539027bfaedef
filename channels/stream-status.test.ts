import { describe, expect, it } from 'vitest';
import { createStreamStatusBoard } from './stream-status.js';

describe('the stream status board', () => {
  it('keeps the latest state, delivery and masked error of each connection', () => {
    let clock = new Date('2026-11-29T04:00:00Z');
    const board = createStreamStatusBoard(() => clock);
    const feishu = board.reporter('feishu', 'long-connection');
    expect(board.list()).toEqual([{ channel: 'feishu', transport: 'long-connection', connected: false }]);

    feishu.connected();
    clock = new Date('2026-11-29T04:01:00Z');
    feishu.connected(); // still up: the time it came up stays
    feishu.delivered(new Date('2026-11-29T04:01:30Z'));
    expect(board.list()[0]).toMatchObject({
      connected: true,
      since: new Date('2026-11-29T04:00:00Z'),
      lastDeliveryAt: new Date('2026-11-29T04:01:30Z'),
    });

    feishu.disconnected(`refused for 13800138000 ${'x'.repeat(500)}`);
    const [status] = board.list();
    expect(status).toMatchObject({ connected: false, since: new Date('2026-11-29T04:01:00Z') });
    expect(status?.lastError?.message).not.toContain('13800138000');
    expect(status?.lastError?.message.length).toBeLessThanOrEqual(300);
  });
});
