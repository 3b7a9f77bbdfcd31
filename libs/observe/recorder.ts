// A recording of a running lab for `lab bench --record`: every LiveLab event as a JSON line and a
// pcap of each user's access segment (what a user's NIC sees: BPDUs from its switch, VRRP
// adverts and gratuitous ARPs flooded on the subnet, its own HTTP). It runs in a process of its
// own (tools/record-worker.ts): the bench blocks its event loop while a drill runs, and LiveLab
// needs a free one to hear the target. Times are ms since the epoch on this machine's clock,
// which the twin's probes (`date +%s%3N`), its notifications and tcpdump all share.
import { createWriteStream, mkdirSync, statSync, writeFileSync, type WriteStream } from 'fs';
import { join } from 'path';
import type { LabModel } from '../model/types';
import type { Capture } from '../targets/capture';
import type { Driver } from '../targets/driver';
import { LiveLab } from './live';

export interface RecordPoint {
  /** The pcap's name (without .pcap): the user whose segment it is. */
  segment: string;
  node: string;
  ifname: string;
}

/** Where the recording listens: each user's own NIC. */
export function recordPoints(model: LabModel): RecordPoint[] {
  return model.vms
    .filter((v) => v.kind === 'user' && v.nics.length > 0)
    .map((v) => ({ segment: v.name, node: v.name, ifname: v.nics[0].ifname }));
}

/** BPDUs, VRRP, ARP and the service's HTTP: what the drills' stories are made of, nothing else. */
export const recordFilter = (model: LabModel) => {
  const ports = [...new Set((model.haproxy?.frontends ?? []).map((f) => f.port))];
  return ['stp', 'vrrp', 'arp', ...ports.map((p) => `tcp port ${p}`)].join(' or ');
};

export const eventsFile = 'events.jsonl';
export const snapshotFile = 'initial.json';

export interface Recording {
  /** Resolves once every capture listens (tcpdump wrote its pcap header), rejects after 15 s. */
  ready: Promise<void>;
  /** Ends notifications and captures; resolves once every tcpdump is gone and every file is flushed. */
  stop(): Promise<void>;
}

/** Starts recording into `dir`: events.jsonl (one LiveEvent a line), initial.json, <segment>.pcap. */
export function startRecording(driver: Driver, dir: string): Recording {
  mkdirSync(dir, { recursive: true });
  if (!driver.capture) throw new Error(`the ${driver.name} target cannot capture packets`);
  const files: WriteStream[] = [];
  const captures: Capture[] = [];
  let live: LiveLab | null = null;
  const pcaps = recordPoints(driver.model).map((p) => ({ ...p, file: join(dir, `${p.segment}.pcap`) }));
  const filter = recordFilter(driver.model);
  try {
    for (const p of pcaps) {
      const out = createWriteStream(p.file);
      files.push(out);
      captures.push(driver.capture(p.node, p.ifname, out, { filter }));
    }
    live = new LiveLab(driver);
    writeFileSync(join(dir, snapshotFile), `${JSON.stringify({ t: live.started, state: live.initial }, null, 1)}\n`);
    const events = createWriteStream(join(dir, eventsFile));
    files.push(events);
    live.subscribe((e) => events.write(`${JSON.stringify(e)}\n`));
  } catch (error) {
    live?.stop();
    for (const c of captures) void c.stop().catch(() => undefined);
    throw error;
  }
  const lab = live;
  const size = (file: string) => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const ready = new Promise<void>((resolve, reject) => {
    const since = Date.now();
    const timer = setInterval(() => {
      // tcpdump writes the 24-byte pcap header once its interface is open.
      if (pcaps.every((p) => size(p.file) >= 24)) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - since > 15_000) {
        clearInterval(timer);
        reject(new Error(`tcpdump did not start within 15 s on ${pcaps.filter((p) => size(p.file) < 24).map((p) => p.file).join(', ')}`));
      }
    }, 50);
    // A tcpdump that fails (no such interface, a bad filter) says why at once, not after 15 s.
    captures.forEach((c, i) =>
      c.done.catch((error: Error) => {
        clearInterval(timer);
        reject(new Error(`tcpdump on ${pcaps[i].file}: ${error.message}`));
      }),
    );
  });
  return {
    ready,
    stop: async () => {
      lab.stop();
      await Promise.all(captures.map((c) => c.stop().catch(() => undefined)));
      await Promise.all(files.map((f) => new Promise((resolve) => f.end(resolve))));
    },
  };
}
