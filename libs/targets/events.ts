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

/**
 * The command that asks haproxy's runtime socket for its servers' state, run in a balancer. curl
 * (already on every balancer) speaks to the socket: telnet:// sends stdin as it is and prints
 * what comes back; haproxy answers the one command and closes.
 */
export const haproxyStateCommand = (socket: string) => `echo "show servers state" | curl -s -m 2 --unix-socket ${socket} telnet://haproxy`;

// Stored states of SRV_ADMF_* that take a server out of the rotation (maintenance: forced,
// inherited, configured, resolution, hostname); draining (0x08, 0x10) keeps it serving its sessions.
const maintenance = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;

/**
 * `show servers state` (format 1: a version line, a `#` header naming the columns, a line per
 * server) as `backend/server` → up: running (srv_op_state 2) or soft-stopping (3), and not in
 * maintenance. Null when the text is not that answer (haproxy not running, no socket).
 */
export function parseServersState(text: string): Map<string, boolean> | null {
  const lines = text.split('\n').map((l) => l.trim());
  const header = lines.find((l) => l.startsWith('# be_id '));
  if (!header) return null;
  const columns = header.slice(2).split(/\s+/);
  const at = (fields: string[], name: string) => fields[columns.indexOf(name)];
  const servers = new Map<string, boolean>();
  for (const line of lines.filter((l) => /^\d+ /.test(l))) {
    const f = line.split(/\s+/);
    const op = Number(at(f, 'srv_op_state'));
    const admin = Number(at(f, 'srv_admin_state'));
    servers.set(`${at(f, 'be_name')}/${at(f, 'srv_name')}`, (op === 2 || op === 3) && (admin & maintenance) === 0);
  }
  return servers;
}
