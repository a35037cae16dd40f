// The small encoders under everything else: IP addresses, serial numbers, DER lengths.
import { constructed, encode, readChildren, readTlv, unsignedInteger } from '../../../lib/certificates/asn1.js';
import { canonicalIp, formatIp, parseIp } from '../../../lib/certificates/ip.js';
import { canonicalSerialHex, randomSerial, serialHexOf } from '../../../lib/certificates/serial.js';

describe('IP addresses', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8::5', '2001:db8::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal zero runs
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero group stays
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1::5:1.2.3.4', '1::5:102:304'],
    [' 10.0.0.1 ', '10.0.0.1'],
  ])('%s → %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
    expect(parseIp(canonical)!.equals(parseIp(text.trim())!)).toBe(true);
  });

  test.each(['', 'localhost', '1.2.3', '256.1.1.1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', ':::'])(
    'rejects %j',
    (text) => {
      expect(canonicalIp(text)).toBeUndefined();
    },
  );

  test('formatIp refuses odd lengths', () => {
    expect(() => formatIp(Buffer.alloc(5))).toThrow('an IP address has 4 or 16 octets, not 5');
  });
});

describe('serial numbers', () => {
  test('random serials are 16 octets, positive, with no leading zero octet', () => {
    for (let i = 0; i < 200; i++) {
      const serial = randomSerial();
      expect(serial).toHaveLength(16);
      expect(serial[0]! & 0xc0).toBe(0x40);
      const der = encode(unsignedInteger(serial));
      expect(der.subarray(0, 2)).toEqual(Buffer.from([0x02, 16]));
      expect(serialHexOf(serial)).toMatch(/^[4-7][0-9A-F]{31}$/);
    }
  });

  test.each([
    ['0a:BC:de', '0ABCDE'],
    ['00ff', 'FF'],
    ['abc', '0ABC'],
    ['00', '00'],
    ['7F 01', '7F01'],
  ])('canonical form of %j is %s (as node:crypto prints it)', (hex, canonical) => {
    expect(canonicalSerialHex(hex)).toBe(canonical);
  });

  test('INTEGER encoding is minimal and positive', () => {
    expect(encode(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])))).toEqual(Buffer.from([0x02, 0x01, 0x7f]));
    expect(encode(unsignedInteger(Buffer.from([0x80])))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x80]));
    expect(encode(unsignedInteger(Buffer.alloc(0)))).toEqual(Buffer.from([0x02, 0x01, 0x00]));
  });
});

describe('DER framing', () => {
  test.each([0, 127, 128, 255, 256, 70_000])('a %d-byte SEQUENCE reads back with its length', (length) => {
    const inner = Buffer.concat([Buffer.from([0x04]), lengthBytes(length), Buffer.alloc(length, 7)]);
    const der = constructed(0x30, [inner]);
    const outer = readTlv(der, 0);
    expect(outer.end).toBe(der.length);
    const [child] = readChildren(der, outer);
    expect(child!.end - child!.contentStart).toBe(length);
  });

  test('truncated and indefinite lengths are refused', () => {
    expect(() => readTlv(Buffer.from([0x30, 0x05, 0x00]), 0)).toThrow('DER value truncated');
    expect(() => readTlv(Buffer.from([0x30, 0x80, 0x00, 0x00]), 0)).toThrow('DER length form not allowed');
    expect(() => readTlv(Buffer.from([0x1f, 0x01, 0x00]), 0)).toThrow('high tag numbers');
  });
});

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
