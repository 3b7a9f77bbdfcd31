// What `lab capture` and `twin fault … --delay` read from their arguments, without a lab running:
// capture targets (link, bridge, node:interface, unknown), impairment values and tc's rates.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { captureTarget, nodeInterfaces } from '../libs/model/capture-target';
import { describeImpairment, impairmentOf, netemArgs, parseRate } from '../libs/model/impairment';
import { remoteCapture, tcpdumpArgv } from '../libs/targets/capture';
import { practica6 } from './helpers';

const model = practica6('fast');

test('a link is captured on its second end, the one that keeps carrier when `down` takes the first', () => {
  const link = model.links.find((l) => l.id === 'swout1:vswout1')!;
  assert.equal(captureTarget(model, 'swout1:vswout1'), { node: link.ends[1].vm, ifname: link.ends[1].ifname, what: `link swout1:vswout1 at ${link.ends[1].vm} ${link.ends[1].ifname}` });
});

test('a bridge is captured on its device, on its VM (a switch VM\'s bridge has the switch\'s name)', () => {
  assert.equal(captureTarget(model, 'vswout1'), { node: 'vm1', ifname: 'vswout1', what: 'bridge vswout1 on vm1' });
  assert.equal(captureTarget(model, 'swout2'), { node: 'swout2', ifname: 'swout2', what: 'bridge swout2 on swout2' });
});

test('node:interface as given, for a container and for a VM (its NICs, bridges, VXLAN, containers\' host ends)', () => {
  assert.equal(captureTarget(model, 'bal1:eth0'), { node: 'bal1', ifname: 'eth0', what: 'bal1 eth0' });
  const vm1 = nodeInterfaces(model, 'vm1')!;
  for (const ifname of ['vswout1', 'vswin1', model.vxlan[0].name, model.containers.find((c) => c.name === 'bal1')!.nics[0].hostIfname]) {
    assert.ok(vm1.includes(ifname), `${ifname} in ${vm1}`);
    assert.not.instance(captureTarget(model, `vm1:${ifname}`), Error);
  }
});

test('an unknown target: an error that names it and the valid ones', () => {
  const unknown = captureTarget(model, 'swout9:vswout1');
  assert.instance(unknown, Error);
  assert.match((unknown as Error).message, 'unknown capture target "swout9:vswout1"; give a link (swout1:vswout1, ');
  assert.match((unknown as Error).message, 'a bridge (vswout1, vswin1, ');
  const iface = captureTarget(model, 'bal1:eth9');
  assert.instance(iface, Error);
  assert.is((iface as Error).message, 'bal1 has no interface "eth9"; its interfaces: eth0, eth1');
});

test('tcpdump writes pcap to stdout, a packet at a time, without dropping root (which would clear its parent-death signal)', () => {
  assert.equal(tcpdumpArgv('eth1', { filter: 'vrrp or stp' }), ['tcpdump', '-i', 'eth1', '-U', '-w', '-', '-Z', 'root', '-n', 'vrrp or stp']);
  const remote = remoteCapture('eth1', { filter: "host 'x'", seconds: 10 }, '/tmp/p.pid');
  assert.is(remote.start, `timeout 40 'tcpdump' '-i' 'eth1' '-U' '-w' '-' '-Z' 'root' '-n' 'host '\\''x'\\''' & echo $! > /tmp/p.pid; wait $!`);
  assert.match(remote.stop, 'kill $(cat /tmp/p.pid)');
});

test('impairments: values read, netem arguments, a description', () => {
  const i = impairmentOf({ delay: 100, jitter: 10, loss: 5, rate: '1Mbit' });
  assert.not.instance(i, Error);
  assert.equal(i, { delayMs: 100, jitterMs: 10, lossPercent: 5, rateBps: 1e6, rateText: '1mbit' });
  assert.equal(netemArgs(i as never), ['delay', '100ms', '10ms', 'loss', '5%', 'rate', '1mbit']);
  assert.is(describeImpairment(i as never), 'delay 100 ms ± 10 ms, loss 5%, rate 1mbit');
  assert.equal(netemArgs(impairmentOf({ loss: 5 }) as never), ['loss', '5%']);
  assert.is(parseRate('512kbit'), 512_000);
  assert.is(parseRate('10mbps'), 80_000_000);
});

test('bad impairment values: an error naming the value and what is allowed', () => {
  const message = (o: Parameters<typeof impairmentOf>[0]) => {
    const r = impairmentOf(o);
    assert.instance(r, Error, JSON.stringify(o));
    return (r as Error).message;
  };
  assert.is(message({ delay: -5 }), '--delay -5: give milliseconds from 0 to 60000');
  assert.is(message({ loss: 150 }), '--loss 150: give a percentage from 0 to 100');
  assert.is(message({ delay: Number.NaN }), '--delay NaN: give milliseconds from 0 to 60000');
  assert.match(message({ rate: 'fast' }), '--rate fast: give a number and a unit as tc writes it, e.g. 1mbit');
  assert.match(message({ rate: '10' }), '--rate 10: give a number and a unit');
  assert.match(message({ rate: '1 furlong' }), '--rate 1 furlong:');
  assert.match(message({ delay: 10, jitter: 20 }), '--jitter 20 is larger than --delay 10');
  assert.match(message({ jitter: 0 }), 'an impairment needs --delay, --loss or --rate above 0');
});

test.run();
