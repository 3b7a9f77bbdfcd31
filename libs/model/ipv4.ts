// IPv4 arithmetic on 32-bit unsigned integers: all the lab needs (parse, prefix, membership).

export function parseIpv4(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]) >>> 0;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

export interface Cidr {
  network: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const [address, prefix] = text.split('/');
  return { network: parseIpv4(address), prefix: Number(prefix) };
}

export function netmask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkOf(address: number, prefix: number): number {
  return (address & netmask(prefix)) >>> 0;
}

export type AddressRole = 'host' | 'network' | 'broadcast' | 'outside';

/** What `address` is to the subnet: a usable host address, its network or broadcast address, or none of its. */
export function addressRole(address: number, cidr: Cidr): AddressRole {
  const mask = netmask(cidr.prefix);
  if (((address & mask) >>> 0) !== cidr.network) return 'outside';
  const host = (address & ~mask) >>> 0;
  if (host === 0) return 'network';
  return host === ~mask >>> 0 ? 'broadcast' : 'host';
}

/** True when `address` is a usable host address of the subnet (not its network or broadcast address). */
export function isHostIn(address: number, cidr: Cidr): boolean {
  return addressRole(address, cidr) === 'host';
}

/** The usable host addresses of a subnet, as "first to last". */
export function hostRange(cidr: Cidr): string {
  const broadcast = (cidr.network | ~netmask(cidr.prefix)) >>> 0;
  return `${formatIpv4(cidr.network + 1)} to ${formatIpv4(broadcast - 1)}`;
}
