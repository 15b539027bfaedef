import { describe, expect, it } from 'vitest';
import { detectPii, isIpv6, isValidBankCard, isValidIdCard, maskPii, unmaskPii } from './masking.js';

// Check characters computed by hand from GB 11643 weights; the numbers belong to no one.
const ID_X = '11010519491231002X';
const ID_DIGIT = '330106198506151014';
const CARD_16 = '6222021234567894';
const CARD_19 = '6217000000123456786';

const kinds = (text: string) => detectPii(text).map((match) => [match.kind, match.value]);

describe('phone numbers', () => {
  it('finds mainland mobile numbers, with or without +86 and separators', () => {
    expect(kinds('call 13812345678 or +86 139-1234-5678, 0086 15012345678; 手机18600001111谢谢')).toEqual([
      ['PHONE', '13812345678'],
      ['PHONE', '+86 139-1234-5678'],
      ['PHONE', '0086 15012345678'],
      ['PHONE', '18600001111'],
    ]);
  });

  it('ignores a phone-shaped run inside a longer number', () => {
    expect(kinds('order 2013812345678 and 138123456789 and 9913812345678')).toEqual([]);
  });

  it('ignores numbers outside the mobile ranges', () => {
    expect(kinds('12012345678 and 10012345678 and 1381234567')).toEqual([]);
  });
});

describe('resident identity card numbers', () => {
  it('accepts valid numbers, including an X check character in either case', () => {
    expect(isValidIdCard(ID_X)).toBe(true);
    expect(isValidIdCard(ID_X.toLowerCase())).toBe(true);
    expect(isValidIdCard(ID_DIGIT)).toBe(true);
    expect(kinds(`身份证号${ID_X}。`)).toEqual([['ID_CARD', ID_X]]);
  });

  it('rejects an 18-digit number with a wrong check digit', () => {
    const wrong = `${ID_DIGIT.slice(0, 17)}5`;
    expect(isValidIdCard(wrong)).toBe(false);
    expect(kinds(`id ${wrong}`).some(([kind]) => kind === 'ID_CARD')).toBe(false);
  });

  it('rejects an unknown province code and an impossible birth date even with a matching check digit', () => {
    // Both carry the check character their first 17 digits imply, so only the region/date rule rejects them.
    expect(isValidIdCard('990105194912310023')).toBe(false);
    expect(isValidIdCard('110105194902300020')).toBe(false);
    expect(isValidIdCard('110105180001010010')).toBe(false);
  });

  it('accepts 29 February only in a leap year', () => {
    expect(isValidIdCard('110105200002290013')).toBe(true);
    expect(isValidIdCard('110105190002290017')).toBe(false);
  });

  it('ignores an ID-shaped run inside a longer number', () => {
    expect(kinds(`9${ID_DIGIT}`)).toEqual([]);
  });
});

describe('bank card numbers', () => {
  it('accepts 13-19 digit numbers passing Luhn, plain or grouped', () => {
    expect(isValidBankCard(CARD_16)).toBe(true);
    expect(isValidBankCard(CARD_19)).toBe(true);
    expect(isValidBankCard('4111 1111 1111 1111')).toBe(true);
    expect(kinds(`卡号${CARD_19}, visa 4111-1111-1111-1111`)).toEqual([
      ['BANK_CARD', CARD_19],
      ['BANK_CARD', '4111-1111-1111-1111'],
    ]);
  });

  it('rejects a 16-digit number failing Luhn', () => {
    const wrong = `${CARD_16.slice(0, 15)}5`;
    expect(isValidBankCard(wrong)).toBe(false);
    expect(kinds(`card ${wrong}`)).toEqual([]);
  });

  it('rejects repeated digits, too-short and too-long runs', () => {
    expect(isValidBankCard('0000000000000000')).toBe(false);
    expect(isValidBankCard('424242424242')).toBe(false);
    expect(kinds(`${CARD_16}0000`)).toEqual([]);
  });

  it('prefers an ID card over a bank card for an 18-digit number that is both', () => {
    // 330106198506151014 happens to pass Luhn too; the stricter ID rules decide.
    expect(isValidBankCard(ID_DIGIT)).toBe(true);
    expect(kinds(ID_DIGIT)).toEqual([['ID_CARD', ID_DIGIT]]);
  });
});

describe('emails and IP addresses', () => {
  it('finds emails, and a phone used as a mailbox name is part of the email', () => {
    expect(kinds('write to zhang.san+work@example.com.cn or 13812345678@163.com.')).toEqual([
      ['EMAIL', 'zhang.san+work@example.com.cn'],
      ['EMAIL', '13812345678@163.com'],
    ]);
  });

  it('finds IPv4 addresses but not out-of-range octets or longer dotted runs', () => {
    expect(kinds('host 192.168.1.20, gw 10.0.0.1. bad 256.1.1.1 and 1.2.3.4.5')).toEqual([
      ['IP', '192.168.1.20'],
      ['IP', '10.0.0.1'],
    ]);
  });

  it('finds IPv6 addresses, including compressed and IPv4-mapped forms', () => {
    expect(kinds('v6 2001:db8:85a3::8a2e:370:7334, lo ::1, mapped ::ffff:192.168.1.1')).toEqual([
      ['IP', '2001:db8:85a3::8a2e:370:7334'],
      ['IP', '::1'],
      ['IP', '::ffff:192.168.1.1'],
    ]);
    expect(kinds('fe80:0:0:0:0:0:0:1')).toEqual([['IP', 'fe80:0:0:0:0:0:0:1']]);
  });

  it('ignores clock times, MAC addresses and C++ scope operators', () => {
    expect(kinds('at 12:30:45, mac 00:1A:2B:3C:4D:5E, std::vector, a::b')).toEqual([]);
    expect(isIpv6('::')).toBe(false);
    expect(isIpv6('1::2::3')).toBe(false);
    expect(isIpv6('1:2:3:4:5:6:7:8:9')).toBe(false);
    expect(isIpv6('12345::1')).toBe(false);
  });
});

describe('maskPii and unmaskPii', () => {
  const text = `我是张三，手机13812345678，邮箱zs@example.com，身份证${ID_X}，卡号${CARD_16}，服务器10.1.2.3。再说一次13812345678。`;

  it('replaces each value with a numbered placeholder, the same value with the same placeholder', () => {
    const { text: masked, vault } = maskPii(text, { reversible: true });
    expect(masked).toBe(
      '我是张三，手机[PHONE_1]，邮箱[EMAIL_1]，身份证[ID_CARD_1]，卡号[BANK_CARD_1]，服务器[IP_1]。再说一次[PHONE_1]。',
    );
    expect(vault).toEqual({
      '[PHONE_1]': '13812345678',
      '[EMAIL_1]': 'zs@example.com',
      '[ID_CARD_1]': ID_X,
      '[BANK_CARD_1]': CARD_16,
      '[IP_1]': '10.1.2.3',
    });
  });

  it('numbers different values of one kind separately and restores them all', () => {
    const source = 'a 13812345678, b 13912345678, c +86 138 1234 5678';
    const { text: masked, vault } = maskPii(source, { reversible: true });
    expect(masked).toBe('a [PHONE_1], b [PHONE_2], c [PHONE_1]');
    expect(unmaskPii('reply to [PHONE_2] and [PHONE_1]', vault)).toBe('reply to 13912345678 and 13812345678');
  });

  it('round-trips text through mask and unmask', () => {
    const { text: masked, vault } = maskPii(text, { reversible: true });
    expect(unmaskPii(masked, vault)).toBe(text);
  });

  it('returns an empty vault in irreversible mode', () => {
    const { text: masked, vault } = maskPii(text, { reversible: false });
    expect(vault).toEqual({});
    expect(masked).not.toContain('13812345678');
    expect(unmaskPii(masked, vault)).toBe(masked);
  });

  it('continues an earlier vault: known values keep their placeholder, new ones get the next number', () => {
    const first = maskPii('call 13812345678', { reversible: true });
    const second = maskPii('call 13812345678 or 13912345678', { reversible: true, vault: first.vault });
    expect(second.text).toBe('call [PHONE_1] or [PHONE_2]');
    expect(second.vault).toEqual({ '[PHONE_1]': '13812345678', '[PHONE_2]': '13912345678' });
  });

  it('leaves text without personal data and unknown placeholders unchanged', () => {
    expect(maskPii('version 2.1, 3 apples, 2024-05-01', { reversible: true })).toEqual({
      text: 'version 2.1, 3 apples, 2024-05-01',
      vault: {},
    });
    expect(unmaskPii('[PHONE_9] and [NAME_1]', { '[PHONE_1]': 'x' })).toBe('[PHONE_9] and [NAME_1]');
  });

  it('masks a long message in linear time (a letter run with no @ once took seconds)', () => {
    const text = `${'y'.repeat(200_000)} mail a@b.cn`;
    const started = performance.now();
    expect(maskPii(text, { reversible: false }).text.endsWith(' mail [EMAIL_1]')).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
