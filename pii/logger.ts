// The process logger: core's JSON logger with personal data masked irreversibly in every message, string field
// and error (message, stack, cause); logs leave the data's owner more often than data does.
import type { pino } from 'pino';
import { createJsonLogger, type Logger } from '../core/logger.js';
import { maskPii } from './masking.js';

/** What a log line keeps of a text: personal data replaced by placeholders (`[PHONE_1]`), with no way back. */
export const maskLogText = (text: string): string => maskPii(text, { reversible: false }).text;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return createJsonLogger(level, destination, maskLogText);
}
