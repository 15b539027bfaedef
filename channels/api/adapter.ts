// The management API as a channel: messages posted to POST /v1/messages. Replies are not pushed anywhere;
// they are kept in the run's status and the conversation history, where the caller reads them.
import { createEventLogAdapter } from '../event-log-adapter.js';

export const API_CHANNEL = 'api';

export const createApiChannelAdapter = () => createEventLogAdapter(API_CHANNEL, 'at POST /v1/messages');
