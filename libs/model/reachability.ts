// Layer-2 reachability in a resolved lab. The lab has no router (the balancers proxy, they do
// not route), so two interfaces talk only when their bridges are one layer-2 domain: joined by
// links or by a VXLAN segment whose tunnel ends reach each other. A spec can be valid and still
// cut a server, a balancer or a user off; these are warnings, not errors, because a lab may be
// cut off on purpose (the handout's checkpoint 3 runs before the VXLAN exists).
import { pointer, type Problem } from '../spec/problems';
import type { LabModel } from './types';

/** Bridges joined into layer-2 domains (union-find over bridge names). */
class Domains {
  private readonly parent = new Map<string, string>();
  find(bridge: string): string {
    const up = this.parent.get(bridge);
    if (up === undefined || up === bridge) return bridge;
    const root = this.find(up);
    this.parent.set(bridge, root);
    return root;
  }
  join(a: string, b: string): void {
    const [ra, rb] = [this.find(a), this.find(b)].sort();
    if (ra !== rb) this.parent.set(rb, ra);
  }
  same(a: string, b: string): boolean {
    return this.find(a) === this.find(b);
  }
}

const names = (items: string[]) => items.join(', ');

/**
 * Warnings, in the same form as spec problems, for: a backend server that a balancer serving it
 * cannot reach; VXLAN tunnel ends that cannot reach each other over the underlay; a VRRP member
 * that cannot hear the group's master or that no user reaches; a user that reaches no VIP.
 * Pointers are the spec's: a valid spec keeps every element, in order, in the model.
 */
export function reachabilityWarnings(model: LabModel): Problem[] {
  const warnings: Problem[] = [];
  const domains = new Domains();
  for (const link of model.links) {
    const [a, b] = link.ends;
    if (a.bridge && b.bridge) domains.join(a.bridge, b.bridge);
  }

  // VXLAN: a tunnel end works only if its underlay address reaches the others at layer 2.
  model.vxlan.forEach((seg, i) => {
    const [first, ...others] = seg.members;
    if (!first) return;
    const reached = others.filter((m) => domains.same(m.dev, first.dev));
    seg.members.forEach((m, j) => {
      if (m === first || domains.same(m.dev, first.dev)) return;
      warnings.push({
        pointer: pointer('vxlan', i, 'bridges', j),
        value: m.bridge,
        message: `${m.vm}'s tunnel end (${m.local} on ${m.dev}) cannot reach ${first.vm}'s (${first.local} on ${first.dev}) at layer 2: ${m.bridge} stays cut off from ${first.bridge}`,
        hint: `link ${m.dev} to the switches or bridges ${first.dev} hangs off, in subnet ${seg.underlay}`,
      });
    });
    for (const m of reached) domains.join(m.bridge, first.bridge);
    const cutOff = others.filter((m) => !reached.includes(m));
    for (const m of cutOff) for (const o of cutOff) if (domains.same(m.dev, o.dev)) domains.join(m.bridge, o.bridge);
  });

  const containers = new Map(model.containers.map((c) => [c.name, c]));
  const segmentsOf = (subnet: string) => model.vxlan.filter((s) => model.bridges.find((b) => b.name === s.members[0]?.bridge)?.subnet === subnet);

  // Backend servers: every balancer serves every backend, over its NIC in the server's subnet.
  const balancers = (model.haproxy?.balancers ?? []).map((name) => containers.get(name)!);
  model.haproxy?.backends.forEach((backend, i) => {
    backend.servers.forEach((server, j) => {
      const nic = containers.get(server.name)!.nics.find((n) => n.address === server.address)!;
      const cutOff = balancers
        .map((b) => ({ balancer: b.name, nic: b.nics.find((n) => n.subnet === nic.subnet)! }))
        .filter((b) => !domains.same(b.nic.bridge, nic.bridge));
      if (cutOff.length === 0) return;
      const joinable = segmentsOf(nic.subnet).find((s) => s.members.some((m) => cutOff.some((b) => domains.same(m.bridge, b.nic.bridge))));
      const onlyThrough = balancers.filter((b) => !cutOff.some((c) => c.balancer === b.name)).map((b) => b.name);
      warnings.push({
        pointer: pointer('haproxy', 'backends', i, 'servers', j, 'container'),
        value: server.name,
        message: `${server.name} (${server.address} on ${nic.bridge}) cannot be reached at layer 2 by ${cutOff.map((b) => `${b.balancer} (on ${b.nic.bridge})`).join(' or ')}, which serve${cutOff.length === 1 ? 's' : ''} backend ${backend.name}: ${onlyThrough.length > 0 ? `only ${names(onlyThrough)} will send it requests` : 'it will never get a request'}`,
        hint: joinable
          ? `add ${nic.bridge} to VXLAN segment ${joinable.name}, or put ${server.name} on a bridge that segment joins`
          : `join ${nic.bridge} to ${names([...new Set(cutOff.map((b) => b.nic.bridge))])} (a VXLAN segment or a link), or put ${server.name} on a bridge joined to them`,
      });
    });
  });

  // Users reach a VIP through the bridge at the other end of their one link.
  const users = model.vms.filter((v) => v.kind === 'user');
  const userBridge = new Map<string, { bridge: string; subnet: string }>();
  for (const link of model.links) {
    const [a, b] = link.ends;
    if (!a.bridge && b.bridge) userBridge.set(a.vm, { bridge: b.bridge, subnet: link.subnet });
    if (!b.bridge && a.bridge) userBridge.set(b.vm, { bridge: a.bridge, subnet: link.subnet });
  }

  // VRRP: members must hear each other's adverts (else each is master) and users must reach them.
  model.vrrp.forEach((group, i) => {
    const master = group.members.find((m) => m.container === group.master)!;
    const bridgeOf = (member: typeof master) => containers.get(member.container)!.nics.find((n) => n.ifname === member.ifname)!.bridge;
    const usersHere = users.filter((u) => userBridge.get(u.name)?.subnet === group.subnet);
    group.members.forEach((member, j) => {
      const bridge = bridgeOf(member);
      const at = pointer('vrrp', i, 'members', j, 'container');
      if (member !== master && !domains.same(bridge, bridgeOf(master))) {
        warnings.push({
          pointer: at,
          value: member.container,
          message: `${member.container} (on ${bridge}) cannot hear the VRRP adverts of ${master.container} (on ${bridgeOf(master)}): both will hold VIP ${group.vip}`,
          hint: `join ${bridge} and ${bridgeOf(master)} in one layer-2 domain (links to the same switches)`,
        });
      }
      const reachedBy = usersHere.filter((u) => domains.same(userBridge.get(u.name)!.bridge, bridge));
      if (usersHere.length > 0 && reachedBy.length === 0) {
        warnings.push({
          pointer: at,
          value: member.container,
          message: `no user reaches ${member.container}'s NIC in subnet ${group.subnet} (on ${bridge}) at layer 2: while it holds VIP ${group.vip}, ${names(usersHere.map((u) => u.name))} lose the service`,
          hint: `link ${bridge} to the switches ${names([...new Set(usersHere.map((u) => userBridge.get(u.name)!.bridge))])} the users hang off`,
        });
      }
    });
  });

  users.forEach((user, k) => {
    const attached = userBridge.get(user.name);
    if (!attached || model.vrrp.length === 0) return;
    const groupsHere = model.vrrp.filter((g) => g.subnet === attached.subnet);
    const at = pointer('users', k);
    if (groupsHere.length === 0) {
      warnings.push({
        pointer: at,
        value: user.name,
        message: `${user.name} is in subnet ${attached.subnet}, no VIP is (${model.vrrp.map((g) => `${g.vip} in ${g.subnet}`).join(', ')}): the balancers do not route, so ${user.name} cannot reach the service`,
        hint: `link ${user.name} to a switch or bridge of subnet ${names([...new Set(model.vrrp.map((g) => g.subnet))])}`,
      });
      return;
    }
    const reaches = groupsHere.some((g) => g.members.some((m) => domains.same(containers.get(m.container)!.nics.find((n) => n.ifname === m.ifname)!.bridge, attached.bridge)));
    if (!reaches) {
      warnings.push({
        pointer: at,
        value: user.name,
        message: `no VRRP member is on ${user.name}'s layer-2 domain (${attached.bridge}): ${user.name} cannot reach ${names(groupsHere.map((g) => g.vip))}`,
        hint: `link ${attached.bridge} to the switches or bridges the balancers hang off`,
      });
    }
  });
  return warnings;
}
