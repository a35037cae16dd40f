// IP addresses as certificates hold them (4 or 16 octets, RFC 5280 4.2.1.6) and back to text in one
// canonical form, so names from a spec, from sans.ts and from a served certificate compare equal.
import { isIPv4, isIPv6 } from 'node:net';

function ipv4Octets(text: string): number[] {
  return text.split('.').map(Number);
}

/** Octets of an IPv4 or IPv6 address, or undefined when `text` is not one (zone ids are not allowed). */
export function parseIp(text: string): Buffer | undefined {
  if (isIPv4(text)) return Buffer.from(ipv4Octets(text));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let tail: number[] = [];
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // An embedded IPv4 tail such as ::ffff:192.0.2.1 stands for the last two groups.
    tail = ipv4Octets(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const leftGroups = groups(left!);
  const rightGroups = right === undefined ? [] : groups(right);
  const missing = 8 - tail.length / 2 - leftGroups.length - rightGroups.length;
  const all = [...leftGroups, ...new Array<number>(right === undefined ? 0 : missing).fill(0), ...rightGroups];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  Buffer.from(tail).copy(bytes, 12);
  return bytes;
}

/** Dotted quad for IPv4; RFC 5952 text (lower case, longest zero run compressed) for IPv6. */
export function formatIp(octets: Buffer): string {
  if (octets.length === 4) return [...octets].join('.');
  if (octets.length !== 16) throw new Error(`an IP address has 4 or 16 octets, not ${octets.length}`);
  const groups = Array.from({ length: 8 }, (_, i) => octets.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  // RFC 5952 4.2.2: a single zero group is not compressed.
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an address, or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const octets = parseIp(text.trim());
  return octets && formatIp(octets);
}
