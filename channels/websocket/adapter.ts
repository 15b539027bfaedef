// WebSocket clients as a channel (GET /v1/ws). Nothing is pushed from here: the reply, like every other step of
// the run, reaches the client through the run's event log, which its connection follows.
import { createEventLogAdapter } from '../event-log-adapter.js';

export const WS_CHANNEL = 'ws';

export const createWebSocketChannelAdapter = () => createEventLogAdapter(WS_CHANNEL, 'over GET /v1/ws');
