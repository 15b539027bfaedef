// Which request headers the model may set in an HTTP tool call. Transport headers are never its to set;
// headers that change who the request is for or who sends it only when the operator allows them by name.
import { BadRequestError } from '../../../core/errors.js';

const TRANSPORT_HEADERS = new Set([
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'expect',
]);

/** Settable only when listed in TOOLS_HTTP_HEADER_OVERRIDES. */
export const PROTECTED_HEADERS = ['host', 'authorization', 'proxy-authorization', 'cookie'];

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Returns the headers lower-cased, or throws a BadRequestError naming the first one refused. */
export function checkHeaders(
  toolName: string,
  given: Record<string, string>,
  overrides: ReadonlySet<string>,
): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) throw new BadRequestError(`${toolName}: "${name}" is not a valid header name`);
    if (/[\r\n\0]/.test(value)) throw new BadRequestError(`${toolName}: header ${name} contains a line break`);
    if (TRANSPORT_HEADERS.has(lower)) throw new BadRequestError(`${toolName}: header ${name} is set by the transport`);
    if (PROTECTED_HEADERS.includes(lower) && !overrides.has(lower)) {
      throw new BadRequestError(`${toolName} may not set the ${name} header (the operator has not allowed it)`);
    }
    checked[lower] = value;
  }
  return checked;
}
