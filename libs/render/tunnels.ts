// libvirt's point-to-point links: each lab link becomes a UDP tunnel between two loopback
// sockets, one per end (as netlab's libvirt provider does). qemu sends each frame of one end's
// NIC to the other end's socket, so the link needs no bridge and no libvirt network.
import { createHash } from 'crypto';
import type { LabModel, LinkModel } from '../model/types';

export interface TunnelEnd {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

/** One port for every tunnel: the addresses already tell the links apart. */
export const tunnelPort = 10001;

/**
 * The second octet of a lab's loopback addresses (2–251), from its name: two labs up at the same
 * time on one machine then almost never share a socket (1 chance in 250).
 */
export function labOctet(lab: string): number {
  return 2 + (createHash('sha256').update(lab).digest().readUInt32BE(0) % 250);
}

/** 127.<lab>.<hi>.<lo>: link i gets two consecutive addresses, ends[0] odd, ends[1] even. */
function endAddress(lab: string, linkIndex: number, end: 0 | 1): string {
  return `127.${labOctet(lab)}.${linkIndex >> 7}.${2 * (linkIndex & 127) + 1 + end}`;
}

/** The tunnel socket pair of each end of a link, keyed `<vm>/<ifname>`. */
export function udpTunnels(model: LabModel): Map<string, TunnelEnd> {
  const ends = new Map<string, TunnelEnd>();
  model.links.forEach((link: LinkModel, i) => {
    for (const end of [0, 1] as const) {
      const here = link.ends[end];
      ends.set(`${here.vm}/${here.ifname}`, {
        localIp: endAddress(model.name, i, end),
        localPort: tunnelPort,
        remoteIp: endAddress(model.name, i, end === 0 ? 1 : 0),
        remotePort: tunnelPort,
      });
    }
  });
  return ends;
}
