// What a target reports as it happens: kernel notifications (bridge port states, links,
// addresses), daemons starting and stopping, haproxy's verdict on its servers. `t` is when this
// machine read the notification (ms since the epoch). The parsers read iproute2 6.x monitor lines.

export type TargetEvent =
  | { kind: 'stp-port'; t: number; vm: string; bridge: string; port: string; state: string }
  | { kind: 'link'; t: number; node: string; ifname: string; up: boolean }
  | { kind: 'address'; t: number; node: string; ifname: string; address: string; present: boolean }
  | { kind: 'daemon'; t: number; container: string; service: string; running: boolean }
  | { kind: 'haproxy-server'; t: number; balancer: string; backend: string; server: string; up: boolean };

export interface Watch {
  stop(): void;
}

/** A long-running command on a node, read line by line. */
export interface LineStream {
  stop(): void;
}

// "7: to-vswout2@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master swout1 state blocking priority 32 cost 100"
const bridgePortLine = /^(Deleted )?\d+: ([^:@\s]+)(?:@\S+)?: <[^>]*>.*\bmaster (\S+) state (\S+)/;

/** A `bridge monitor link` line as a port state, or null for any other line. */
export function parseBridgeMonitor(line: string): { bridge: string; port: string; state: string } | null {
  const m = bridgePortLine.exec(line);
  if (!m) return null;
  return { bridge: m[3], port: m[2], state: m[1] ? 'absent' : m[4] };
}

// "5: to-vswout1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master swout1 state UP …"
const linkLine = /^(Deleted )?\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)>/;

/** An `ip monitor link` line: the interface and whether it is up with carrier (UP and LOWER_UP). */
export function parseLinkMonitor(line: string): { ifname: string; up: boolean } | null {
  const m = linkLine.exec(line);
  if (!m) return null;
  const flags = m[3].split(',');
  return { ifname: m[2], up: !m[1] && flags.includes('UP') && flags.includes('LOWER_UP') };
}

// "2: eth0    inet 172.16.1.254/24 scope global secondary eth0" (or "Deleted 2: …")
const addressLine = /^(Deleted )?\d+: ([^:@\s]+)(?:@\S+)?\s+inet (\d+\.\d+\.\d+\.\d+)\//;

/** An `ip monitor address` line for an IPv4 address, or null. */
export function parseAddressMonitor(line: string): { ifname: string; address: string; present: boolean } | null {
  const m = addressLine.exec(line);
  return m ? { ifname: m[2], address: m[3], present: !m[1] } : null;
}

// "[WARNING]  (130) : Server misServidores/serv3 is DOWN, reason: Layer4 timeout, …"
const haproxyServerLine = /\((\d+)\) : Server ([^/\s]+)\/(\S+) is (UP|DOWN)\b/;

/** A line of haproxy's own log about a server's health, with the pid of the haproxy that wrote it. */
export function parseHaproxyLog(line: string): { pid: number; backend: string; server: string; up: boolean } | null {
  const m = haproxyServerLine.exec(line);
  return m ? { pid: Number(m[1]), backend: m[2], server: m[3], up: m[4] === 'UP' } : null;
}
