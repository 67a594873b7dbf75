/** An IPv4 CIDR block as a numeric range. */
export interface Ipv4Block {
  readonly first: number;
  readonly last: number;
  readonly prefix: number;
}

/**
 * Parses `a.b.c.d/n`. Returns undefined when the text is not an IPv4 CIDR block or has host bits
 * set (`10.0.0.1/16`).
 */
export function parseIpv4Cidr(cidr: string): Ipv4Block | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!match) {
    return undefined;
  }
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) {
    return undefined;
  }
  const address = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3];
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) {
    return undefined;
  }
  return { first: address, last: address + size - 1, prefix };
}

/** True when the two blocks share at least one address. */
export function overlaps(a: Ipv4Block, b: Ipv4Block): boolean {
  return a.first <= b.last && b.first <= a.last;
}
