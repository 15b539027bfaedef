// The one injective encoding for ids that users control (conversation ids, message ids, sender ids) when they
// become part of a storage key, an object key, a workflow id or a dedupe key. Two different inputs never give
// the same output, and the output holds no separator (`:` or `/`), so a key made of encoded parts and fixed
// words splits back into its parts one way only. Ids made only of [A-Za-z0-9_.-] are left as they are.
//
// Rule: every UTF-8 byte of a character outside [A-Za-z0-9_.-] is written `=HH` (upper-case hex), the escape
// character `=` included; a lone surrogate (not valid UTF-16, so not encodable as UTF-8) is written `=uHHHH`.
// `=`, digits, letters, `_`, `.` and `-` are all accepted in object-store keys (storage/object-key.ts).
// Workflow-safe (no Node builtins, no TextEncoder): runs/contract.ts builds workflow ids with it.

const SAFE = /^[A-Za-z0-9_.-]$/;
const hex = (value: number, width: number) => value.toString(16).toUpperCase().padStart(width, '0');

export function encodeKeyPart(value: string): string {
  let encoded = '';
  for (const char of value) {
    if (SAFE.test(char)) {
      encoded += char;
      continue;
    }
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      encoded += `=u${hex(code, 4)}`;
      continue;
    }
    for (const byte of utf8(code)) encoded += `=${hex(byte, 2)}`;
  }
  return encoded;
}

/** True when the text holds a surrogate without its pair: not valid Unicode, so not storable as UTF-8. */
export const hasLoneSurrogate = (text: string) => /[\uD800-\uDFFF]/u.test(text);

/** The UTF-8 bytes of one code point (not a surrogate). */
function utf8(code: number): number[] {
  if (code < 0x80) return [code];
  if (code < 0x800) return [0xc0 | (code >> 6), 0x80 | (code & 0x3f)];
  if (code < 0x10000) return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
  return [0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
}

/** The inverse of encodeKeyPart (for tools and tests): throws on text encodeKeyPart cannot have written. */
export function decodeKeyPart(encoded: string): string {
  let decoded = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) decoded += new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
    bytes = [];
  };
  for (let index = 0; index < encoded.length; ) {
    const char = encoded[index]!;
    if (char !== '=') {
      if (!SAFE.test(char)) throw new Error(`not an encoded key part: ${JSON.stringify(encoded.slice(0, 40))}`);
      flush();
      decoded += char;
      index += 1;
    } else if (encoded[index + 1] === 'u') {
      flush();
      decoded += String.fromCharCode(Number.parseInt(encoded.slice(index + 2, index + 6), 16));
      index += 6;
    } else {
      bytes.push(Number.parseInt(encoded.slice(index + 1, index + 3), 16));
      index += 3;
    }
  }
  flush();
  return decoded;
}
