// Finds personal data (mainland China phones, resident ID cards, bank cards, emails, IPs) and swaps it for
// placeholders before text leaves for a remote LLM. Pure functions: safe in activities and workflow code alike.

export type PiiKind = 'PHONE' | 'ID_CARD' | 'BANK_CARD' | 'EMAIL' | 'IP';

export interface PiiMatch {
  kind: PiiKind;
  value: string;
  start: number;
  end: number;
}

/** Placeholder (`[PHONE_1]`) → the original text it replaced. */
export type PiiVault = Record<string, string>;

export interface MaskOptions {
  /** Keep originals in the returned vault so `unmaskPii` can restore them; false returns an empty vault. */
  reversible: boolean;
  /** An earlier vault of the same conversation: known values keep their placeholders, new ones continue the count. */
  vault?: PiiVault;
}

interface Detector {
  kind: PiiKind;
  pattern: RegExp;
  accept?: (value: string) => boolean;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

// Earlier detectors win overlaps: digits inside an email are not a phone, an ID card is not a bank card.
const DETECTORS: Detector[] = [
  // The lookbehind starts a match only where a local part can begin: without it, a long run of letters with no
  // `@` is rescanned from every position (quadratic: seconds for a 32 000-character message).
  { kind: 'EMAIL', pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  { kind: 'ID_CARD', pattern: /(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])/g, accept: isValidIdCard },
  {
    kind: 'BANK_CARD',
    pattern: /(?<![0-9A-Za-z])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?)(?![0-9A-Za-z])/g,
    accept: isValidBankCard,
  },
  { kind: 'PHONE', pattern: /(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)/g },
  {
    kind: 'IP',
    pattern: new RegExp(
      `(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:${OCTET}\\.){3}${OCTET}|[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z:]|\\.\\d)`,
      'g',
    ),
    accept: isIpv6,
  },
  { kind: 'IP', pattern: new RegExp(`(?<![\\d.])(?:${OCTET}\\.){3}${OCTET}(?!\\.?\\d)`, 'g') },
];

/** Non-overlapping matches in text order. */
export function detectPii(text: string): PiiMatch[] {
  const accepted: PiiMatch[] = [];
  for (const detector of DETECTORS) {
    for (const found of text.matchAll(detector.pattern)) {
      const value = found[0];
      const start = found.index;
      const end = start + value.length;
      if (detector.accept && !detector.accept(value)) continue;
      if (accepted.some((other) => start < other.end && other.start < end)) continue;
      accepted.push({ kind: detector.kind, value, start, end });
    }
  }
  return accepted.sort((a, b) => a.start - b.start);
}

export function maskPii(text: string, options: MaskOptions): { text: string; vault: PiiVault } {
  const known = new Map<string, string>();
  const counters = new Map<PiiKind, number>();
  for (const [placeholder, original] of Object.entries(options.vault ?? {})) {
    const parsed = /^\[([A-Z_]+)_(\d+)\]$/.exec(placeholder);
    if (!parsed) continue;
    const kind = parsed[1] as PiiKind;
    known.set(identity(kind, original), placeholder);
    counters.set(kind, Math.max(counters.get(kind) ?? 0, Number(parsed[2])));
  }

  const vault: PiiVault = {};
  let masked = '';
  let cursor = 0;
  for (const match of detectPii(text)) {
    const key = identity(match.kind, match.value);
    let placeholder = known.get(key);
    if (placeholder === undefined) {
      const next = (counters.get(match.kind) ?? 0) + 1;
      counters.set(match.kind, next);
      placeholder = `[${match.kind}_${next}]`;
      known.set(key, placeholder);
      vault[placeholder] = match.value;
    }
    masked += text.slice(cursor, match.start) + placeholder;
    cursor = match.end;
  }
  masked += text.slice(cursor);
  return { text: masked, vault: options.reversible ? { ...options.vault, ...vault } : {} };
}

export function unmaskPii(text: string, vault: PiiVault): string {
  return text.replace(
    /\[(?:PHONE|ID_CARD|BANK_CARD|EMAIL|IP)_\d+\]/g,
    (placeholder) => vault[placeholder] ?? placeholder,
  );
}

/** The same person's number written two ways (`+86 138…`, `138-…`) gets one placeholder. */
function identity(kind: PiiKind, value: string): string {
  switch (kind) {
    case 'PHONE':
      return `${kind}:${value.replace(/\D/g, '').slice(-11)}`;
    case 'BANK_CARD':
      return `${kind}:${value.replace(/\D/g, '')}`;
    default:
      return `${kind}:${value.toLowerCase()}`;
  }
}

const PROVINCE_CODES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
  64, 65, 71, 81, 82, 83,
]);
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS = '10X98765432';

/** GB 11643: province code, a real birth date, and the ISO 7064 MOD 11-2 check character. */
export function isValidIdCard(value: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(value)) return false;
  if (!PROVINCE_CODES.has(Number(value.slice(0, 2)))) return false;
  const year = Number(value.slice(6, 10));
  const month = Number(value.slice(10, 12));
  const day = Number(value.slice(12, 14));
  if (year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return false;
  }
  let sum = 0;
  for (let index = 0; index < 17; index += 1) sum += Number(value[index]) * ID_WEIGHTS[index]!;
  return ID_CHECK_CHARS[sum % 11] === value[17]!.toUpperCase();
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** 13-19 digits passing the Luhn check; a run of one repeated digit passes Luhn but is never a card. */
export function isValidBankCard(value: string): boolean {
  const digits = value.replace(/[ -]/g, '');
  if (!/^\d{13,19}$/.test(digits) || /^(\d)\1+$/.test(digits)) return false;
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** RFC 4291 text form, with an optional trailing dotted IPv4. Letters-only forms (`a::b`, `::`) are code, not hosts. */
export function isIpv6(value: string): boolean {
  if (!/\d/.test(value)) return false;
  const halves = value.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  let count = groups.length;
  const last = groups.at(-1);
  if (last?.includes('.')) {
    if (value.endsWith(':') || !new RegExp(`^(?:${OCTET}\\.){3}${OCTET}$`).test(last)) return false;
    groups.pop();
    count += 1;
  }
  if (!groups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}
