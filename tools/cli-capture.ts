// `lab capture <link|bridge|node:interface>`: tcpdump on a node of a running lab, pcap to a file
// (-w) or to stdout (`lab capture swout1:vswout1 | wireshark -k -i -`). The twin captures in the
// node's namespace; a Vagrant lab over ssh (lxc exec for a container).
import { createWriteStream } from 'fs';
import type { Writable } from 'stream';
import type { Argv } from 'yargs';
import { captureTarget } from '../libs/model/capture-target';
import { loadTwinLab, TwinError } from '../libs/twin/twin';
import { runningDriver } from './cli-driver';
import { fromCaller } from './cli-paths';

export interface CaptureCliContext {
  labDir: (lab: string | undefined) => string;
  labOption: { type: 'string'; describe: string };
  fail: (error: unknown) => never;
}

export function captureCommand(y: Argv, context: CaptureCliContext) {
  return y
    .positional('where', { type: 'string', demandOption: true, describe: 'a link (swout1:vswout1: its second end\'s NIC), a bridge (vswout1: its device) or node:interface (bal1:eth0)' })
    .option('lab', context.labOption)
    .option('target', { choices: ['twin', 'vagrant'] as const, default: 'twin' as const, describe: 'the twin (must be up) or a Vagrant lab' })
    .option('for', { type: 'number', describe: 'stop after this many seconds (default: until Ctrl-C, or the reader closes the pipe)' })
    .option('w', { alias: 'write', type: 'string', describe: 'write the pcap to this file (default: stdout, for a pipe into wireshark -k -i - or tshark -r -)' })
    .option('filter', { type: 'string', describe: "a tcpdump filter, e.g. 'vrrp or arp or stp'" });
}

export async function runCapture(argv: { where: string; lab?: string; target: 'twin' | 'vagrant'; for?: number; w?: string; filter?: string }, context: CaptureCliContext): Promise<void> {
  try {
    const lab = loadTwinLab(context.labDir(argv.lab));
    const point = captureTarget(lab.model, argv.where);
    if (point instanceof Error) throw new TwinError(point.message);
    if (argv.for !== undefined && !(Number.isFinite(argv.for) && argv.for > 0)) throw new TwinError(`--for ${argv.for}: give the capture's length in seconds, a number above 0`);
    if (argv.w === undefined && process.stdout.isTTY) throw new TwinError('pcap is binary: give -w FILE, or pipe it (lab capture … | wireshark -k -i -)');
    const driver = runningDriver(lab, argv.target, argv.lab);
    const file = argv.w === undefined ? undefined : fromCaller(argv.w);
    const out: Writable = file ? createWriteStream(file) : process.stdout;
    process.stderr.write(`capturing on ${point.what}${argv.for ? ` for ${argv.for} s` : ''}${file ? ` into ${file}` : ''} (Ctrl-C stops)\n`);
    const capture = driver.capture!(point.node, point.ifname, out, { seconds: argv.for, filter: argv.filter });
    // Ctrl-C, a kill or a closed terminal: tcpdump is stopped (and waited for) before we exit.
    const stop = () => void capture.stop().catch(() => undefined);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
    let end;
    try {
      end = await capture.done;
    } catch (error) {
      throw new TwinError(`capture on ${point.what}: ${(error as Error).message}`);
    } finally {
      if (file) await new Promise((resolve) => out.end(resolve));
    }
    process.stderr.write(`${end.bytes} bytes of pcap (${end.reason})\n`);
    process.exit(0);
  } catch (error) {
    context.fail(error);
  }
}
