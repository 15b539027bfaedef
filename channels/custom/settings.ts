// The custom channel's settings: its signing secrets (CUSTOM_WEBHOOK_SECRET, comma-separated for rotation) and
// the hosts a message's callback_url may name (CUSTOM_CALLBACK_ALLOWED_HOSTS, checked by the address guard).
import { z } from 'zod';
import { csv } from '../../core/settings.js';

export const customVariables = z.object({
  CUSTOM_WEBHOOK_SECRET: csv,
  CUSTOM_CALLBACK_ALLOWED_HOSTS: csv,
});
