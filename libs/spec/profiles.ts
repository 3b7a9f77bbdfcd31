// Timer presets. `seed` keeps the handout's (and the tools') defaults; `fast` is tuned for
// quick failover. A value set explicitly in the spec always wins over the profile.

export type ProfileName = 'seed' | 'fast';

export interface Profile {
  stp: { helloTime: number; forwardDelay: number; maxAge: number };
  vrrp: { version: 2 | 3; advertInt: number; virtualMac: boolean };
  /** fastinter is not preset: it follows from inter and the connect timeout (see resolve.ts). */
  check: { inter: number; downinter: number; fall: number; rise: number };
  timeouts: { connect: number; client: number; server: number };
  retries: number;
}

export const profiles: Record<ProfileName, Profile> = {
  seed: {
    // 802.1D defaults, the Linux bridge defaults too.
    stp: { helloTime: 2, forwardDelay: 15, maxAge: 20 },
    // The handout: VRRPv2, one advert per second, the balancers' own MACs for the VIP.
    vrrp: { version: 2, advertInt: 1, virtualMac: false },
    // haproxy's defaults: inter 2 s, fall 3, rise 2.
    check: { inter: 2000, downinter: 2000, fall: 3, rise: 2 },
    // With `timeout check` set, a failing health check gives up after min(timeout connect,
    // inter) = inter / 2; on a LAN a 1 s connect timeout is generous.
    timeouts: { connect: 1000, client: 30000, server: 30000 },
    retries: 3,
  },
  fast: {
    // The shortest timers the kernel accepts.
    stp: { helloTime: 1, forwardDelay: 2, maxAge: 6 },
    // VRRPv3 allows centisecond adverts: master-down = 3 × 0.03 s + skew ≈ 0.1 s. Measured with a
    // 10 ms probe (lab bench --probe-ms 10), clients lose what detection takes and little more: the
    // new master's first advert and gratuitous ARP come with its takeover, haproxy already listens;
    // 0.05 s adverts lost 140–173 ms, 0.03 s ones stay under 150 ms with no false failover idle.
    // The virtual MAC keeps users' ARP entries valid across failovers and partitions: no stale-ARP
    // black hole.
    vrrp: { version: 3, advertInt: 0.03, virtualMac: true },
    check: { inter: 500, downinter: 1000, fall: 2, rise: 2 },
    // inter / 2 again: a check of a dead server gives up after 250 ms.
    timeouts: { connect: 250, client: 30000, server: 30000 },
    retries: 3,
  },
};
