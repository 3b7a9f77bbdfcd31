// The live view's page: draws the lab from /api/lab (positions from the server's ELK layout),
// keeps the state as the first snapshot plus every event (so the timeline can be scrubbed), and
// sends faults and the request stream with the per-run token.
'use strict';
const token = document.querySelector('meta[name="lab-token"]').content;
const svgNs = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const lab = { model: null, layout: null, initial: null, events: [], cursor: null, serverIndex: new Map() };
// Every event as it reached the page, with the page's clock: the latency bench reads this.
window.labArrivals = [];

function el(tag, attrs = {}, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(svgNs, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
const clock = (t) => new Date(t).toISOString().slice(11, 23);

/** The state at the cursor (an index into the events; null = live): the first snapshot plus every event up to it. */
function stateAt(cursor) {
  const s = structuredClone(lab.initial);
  const upTo = cursor === null ? lab.events.length : cursor;
  for (const e of lab.events.slice(0, upTo)) if (s[e.kind]) s[e.kind][e.key] = e.value;
  return s;
}

function predictedOf(bridge, port) {
  return lab.model.spanningTree.ports.find((p) => p.bridge === bridge && p.ifname === port);
}

function drawDiagram(s) {
  const svg = $('diagram');
  const { layout, model } = lab;
  svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
  svg.replaceChildren();
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  const centre = (n) => [n.x + n.width / 2, n.y + n.height / 2];
  const nodeDown = (n) => {
    if (n.kind === 'bridge') {
      const b = model.bridges.find((x) => x.name === n.name);
      return s.link[`${b.vm}/${b.name}`] === false;
    }
    if (n.kind === 'container') {
      const c = model.containers.find((x) => x.name === n.name);
      return c.services.length > 0 && c.services.every((sv) => s.daemon[`${c.name}:${sv}`] === false);
    }
    const vm = model.vms.find((x) => x.name === n.name);
    return vm && vm.nics.length > 0 && vm.nics.every((nic) => s.link[`${vm.name}/${nic.ifname}`] === false);
  };
  // Hypervisors first (they hold bridges and containers), then edges, then the inner nodes.
  for (const n of layout.nodes.filter((x) => x.kind === 'hypervisor')) {
    const g = el('svg:g', { 'data-target': n.target, 'data-node': n.name });
    g.append(el('svg:rect', { class: `vmbox${nodeDown(n) ? ' down' : ''}`, x: n.x, y: n.y, width: n.width, height: n.height, rx: 8 }));
    g.append(el('svg:text', { x: n.x + 10, y: n.y + 18 }, `${n.name} (hypervisor)`));
    svg.append(g);
  }
  const predictedRoots = new Set(model.spanningTree.domains.map((d) => d.root));
  const liveRoots = new Set(Object.entries(s.root).filter(([b, r]) => b === r).map(([b]) => b));
  for (const e of layout.edges) {
    const a = byId.get(e.from), b = byId.get(e.to);
    const [x1, y1] = centre(a), [x2, y2] = centre(b);
    let down = false;
    if (e.kind === 'link') {
      const link = model.links.find((l) => `link:${l.id}` === e.id);
      down = link.ends.some((end) => s.link[`${end.vm}/${end.ifname}`] === false);
    }
    if (e.kind === 'vxlan') {
      const x = model.vxlan.find((v) => e.id.startsWith(`vxlan:${v.name}:`));
      down = x.members.some((m) => s.link[`${m.vm}/${m.ifname}`] === false);
    }
    const g = el('svg:g', { 'data-target': e.target, 'data-edge': e.id });
    g.append(el('svg:line', { class: `edge ${e.kind}${down ? ' down' : ''}`, x1, y1, x2, y2 }));
    g.append(el('svg:line', { class: 'edge-hit', x1, y1, x2, y2 }));
    e.ends.forEach((end, i) => {
      if (!end) return;
      const f = i === 0 ? 0.2 : 0.8;
      const predicted = predictedOf(end.bridge, end.port);
      const live = s.stp[`${end.bridge}/${end.port}`] || 'absent';
      const differs = predicted && live !== predicted.state && !(predicted.state === 'disabled' && live === 'absent');
      const dot = el('svg:circle', { class: `port ${live}${differs ? ' differs' : ''}`, cx: x1 + (x2 - x1) * f, cy: y1 + (y2 - y1) * f, r: 7, 'data-port': `${end.bridge}/${end.port}`, 'data-state': live });
      dot.append(el('svg:title', {}, `${end.bridge}/${end.port}: ${live}${predicted ? ` (predicted ${predicted.role} ${predicted.state})` : ''}`));
      g.append(dot);
    });
    svg.append(g);
  }
  for (const n of layout.nodes.filter((x) => x.kind !== 'hypervisor')) {
    const g = el('svg:g', { 'data-target': n.target, 'data-node': n.name });
    g.append(el('svg:rect', { class: `node ${n.kind}${nodeDown(n) ? ' down' : ''}`, x: n.x, y: n.y, width: n.width, height: n.height, rx: 5 }));
    const bridgeName = n.kind === 'switch' ? model.vms.find((v) => v.name === n.name).bridges[0] : n.kind === 'bridge' ? n.name : null;
    if (bridgeName && predictedRoots.has(bridgeName)) g.append(el('svg:rect', { class: 'predicted-root', x: n.x - 4, y: n.y - 4, width: n.width + 8, height: n.height + 8, rx: 7 }));
    g.append(el('svg:text', { x: n.x + 8, y: n.y + 16 }, n.name));
    let sub = n.kind;
    if (n.kind === 'container') {
      const c = model.containers.find((x) => x.name === n.name);
      sub = c.nics.map((nic) => nic.address).join(' ');
    }
    g.append(el('svg:text', { class: 'small', x: n.x + 8, y: n.y + 31 }, sub));
    if (bridgeName && liveRoots.has(bridgeName)) g.append(el('svg:text', { class: 'root-badge', x: n.x + n.width - 38, y: n.y + 16 }, 'ROOT'));
    svg.append(g);
  }
}

function drawStp(s) {
  const { model } = lab;
  const liveRoots = Object.entries(s.root).filter(([b, r]) => b === r).map(([b]) => b);
  const predictedRoots = model.spanningTree.domains.map((d) => d.root);
  const root = $('stp-root');
  root.dataset.root = liveRoots.join(' ');
  root.replaceChildren(el('span', {}, `root: ${liveRoots.join(', ') || '—'} `), el('small', {}, `(predicted ${predictedRoots.join(', ')})`));
  if (liveRoots.join() !== [...predictedRoots].sort().join() && liveRoots.sort().join() !== [...predictedRoots].sort().join()) root.classList.add('split');
  else root.classList.remove('split');
  const rows = model.spanningTree.ports.map((p) => {
    const live = s.stp[`${p.bridge}/${p.ifname}`] || 'absent';
    const differs = live !== p.state && !(p.state === 'disabled' && live === 'absent');
    const tr = el('tr', { class: differs ? 'differs' : '', 'data-port': `${p.bridge}/${p.ifname}`, 'data-state': live });
    tr.append(el('td', {}, `${p.bridge}/${p.ifname}`), el('td', {}, `${p.role} ${p.state}`), el('td', {}, live));
    return tr;
  });
  $('stp').tBodies[0].replaceChildren(...rows);
}

function drawVrrp(s) {
  const box = $('vrrp');
  box.replaceChildren();
  for (const g of lab.model.vrrp) {
    const holders = s.vip[g.name] || [];
    const div = el('div', { id: `vip-${g.name}`, 'data-holders': holders.join(' ') });
    div.append(el('div', { class: holders.length > 1 ? 'split' : '' }, `${g.name} (VRID ${g.vrid}) VIP ${g.vip}: ${holders.length ? holders.join(' + ') : 'nobody'}${holders.length > 1 ? ' — split brain' : ''}`));
    for (const m of g.members) {
      const alive = s.daemon[`${m.container}:keepalived`] !== false;
      const state = !alive ? 'DOWN' : holders.includes(m.container) ? 'MASTER' : 'BACKUP';
      const row = el('div', { 'data-member': m.container, 'data-state': state });
      row.append(el('span', { class: `state ${state}` }, state), el('span', {}, ` ${m.container} priority ${m.priority}`));
      div.append(row);
    }
    box.append(div);
  }
}

function drawHaproxy(s) {
  const box = $('haproxy');
  box.replaceChildren();
  const h = lab.model.haproxy;
  if (!h) return box.append(el('div', {}, 'no haproxy in this lab'));
  for (const b of h.balancers) {
    const row = el('div', {}, `${b}: `);
    for (const be of h.backends) for (const sv of be.servers) {
      const v = s.server[`${b}/${be.name}/${sv.name}`];
      const cls = v === true ? 'server-up' : v === false ? 'server-down' : 'unknown';
      row.append(el('span', { class: `state ${cls}`, 'data-server': `${b}/${sv.name}`, title: `${be.name}/${sv.name}` }, `${sv.name} ${v === true ? 'UP' : v === false ? 'DOWN' : '?'}`), ' ');
    }
    box.append(row);
  }
}

function drawDaemons(s) {
  const box = $('daemons');
  box.replaceChildren();
  for (const c of lab.model.containers) for (const sv of c.services) {
    const key = `${c.name}:${sv}`;
    const running = s.daemon[key];
    const row = el('div', { 'data-target': key });
    row.append(el('span', { class: `state ${running ? 'running' : 'stopped'}` }, running ? 'running' : 'stopped'), el('span', {}, ` ${key}`));
    box.append(row);
  }
}

/** Layer 3 as laid out by the server (addresses in the hosts' boxes); each VIP names its holders at the cursor. */
function drawLayer3Diagram(s) {
  const svg = $('layer3-diagram');
  const l3 = lab.layout.layer3;
  svg.setAttribute('viewBox', `0 0 ${l3.width} ${l3.height}`);
  svg.replaceChildren();
  const byId = new Map(l3.nodes.map((n) => [n.id, n]));
  const centre = (n) => [n.x + n.width / 2, n.y + n.height / 2];
  for (const e of l3.edges) {
    const [x1, y1] = centre(byId.get(e.from)), [x2, y2] = centre(byId.get(e.to));
    svg.append(el('svg:line', { class: 'edge nic', x1, y1, x2, y2 }));
  }
  for (const n of l3.nodes) {
    const g = el('svg:g', { 'data-l3': n.id });
    g.append(el('svg:rect', { class: `node l3-${n.kind}`, x: n.x, y: n.y, width: n.width, height: n.height, rx: n.kind === 'subnet' ? 14 : 4 }));
    let label = n.label;
    if (n.kind === 'vip') {
      const holders = s.vip[n.name] || [];
      label = `${n.label} → ${holders.length ? holders.join(' + ') : 'nobody'}`;
    }
    g.append(el('svg:text', { x: n.x + 8, y: n.y + n.height / 2 + 4 }, label));
    svg.append(g);
  }
}

function drawLayer3() {
  const box = $('layer3');
  box.replaceChildren();
  const { model } = lab;
  for (const sn of model.subnets) {
    const members = [
      ...model.vms.flatMap((v) => v.nics.filter((n) => n.address && model.links.find((l) => l.id === n.link).subnet === sn.name).map((n) => `${v.name} .${n.address.split('.')[3]}`)),
      ...model.bridges.filter((b) => b.address && b.subnet === sn.name).map((b) => `${b.vm} .${b.address.split('.')[3]}`),
      ...model.containers.flatMap((c) => c.nics.filter((n) => n.subnet === sn.name).map((n) => `${c.name} .${n.address.split('.')[3]}`)),
      ...model.vrrp.filter((g) => g.subnet === sn.name).map((g) => `VIP .${g.vip.split('.')[3]}`),
    ];
    box.append(el('div', {}, `${sn.name} ${sn.cidr}: ${[...new Set(members)].join(', ')}`));
  }
}

function serverClass(server) {
  if (!server) return '';
  if (!lab.serverIndex.has(server)) lab.serverIndex.set(server, lab.serverIndex.size % 6);
  return `s${lab.serverIndex.get(server)}`;
}

function drawRequests(cursor) {
  const events = lab.events.slice(0, cursor === null ? lab.events.length : cursor);
  const box = $('request-stream');
  box.replaceChildren();
  const users = lab.model.vms.filter((v) => v.kind === 'user').map((v) => v.name);
  const lastFault = events.map((e) => e.kind).lastIndexOf('fault');
  for (const u of users) {
    const mine = events.filter((e) => e.kind === 'request' && e.key === u).slice(-40);
    const last = mine[mine.length - 1];
    // Which servers answered since the last fault (all of it, not only what is drawn).
    const okSince = events.slice(lastFault + 1).filter((e) => e.kind === 'request' && e.key === u && e.value.ok);
    const row = el('div', {
      class: 'user',
      'data-user': u,
      'data-servers': [...new Set(mine.slice(-10).filter((e) => e.value.ok).map((e) => e.value.server))].sort().join(' '),
      'data-servers-since-fault': [...new Set(okSince.map((e) => e.value.server))].sort().join(' '),
      'data-ok-since-fault': okSince.length,
    });
    row.append(el('span', {}, `${u}: `));
    for (const e of mine) {
      const r = el('span', { class: `req ${e.value.ok ? serverClass(e.value.server) : 'fail'}`, title: `${clock(e.t)} ${e.text}` });
      row.append(r);
    }
    row.append(el('span', {}, last ? ` ${last.value.ok ? `${last.value.balancer} → ${last.value.server}` : 'failed'}` : ' (no requests yet)'));
    box.append(row);
  }
  // The outage of the last fault: first failure after it to the first success after the last failure.
  const out = $('outage');
  if (lastFault < 0) return out.replaceChildren(el('span', {}, 'no fault yet'));
  const fault = events[lastFault];
  const parts = users.map((u) => {
    const after = events.slice(lastFault).filter((e) => e.kind === 'request' && e.key === u);
    const fails = after.filter((e) => !e.value.ok);
    if (after.length === 0) return `${u}: no requests`;
    if (fails.length === 0) return `${u}: no failed request`;
    const lastFail = fails[fails.length - 1];
    const back = after.find((e) => e.value.ok && e.t > lastFail.t);
    return `${u}: ${fails.length} failed, outage ${back ? `${back.t - fails[0].t} ms` : 'still on'}`;
  });
  out.replaceChildren(el('span', {}, `after ${fault.text} at ${clock(fault.t)}: ${parts.join('; ')}`));
}

function drawTimeline(cursor) {
  const list = $('timeline');
  const upTo = cursor === null ? lab.events.length : cursor;
  const items = [];
  lab.events.forEach((e, i) => {
    if (e.kind === 'request') return;
    items.push(el('li', { class: `${e.kind}${i >= upTo ? ' after' : ''}` }, `${clock(e.t)}  ${e.text}`));
  });
  list.replaceChildren(...items.slice(-300).reverse());
  const scrub = $('scrub');
  scrub.max = String(lab.events.length);
  scrub.value = String(upTo);
  const at = upTo > 0 ? lab.events[upTo - 1].t : lab.started;
  $('cursor-time').textContent = cursor === null ? `live, ${lab.events.length} events` : `at ${clock(at)} (event ${upTo} of ${lab.events.length})`;
}

let pending = false;
function render() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    const s = stateAt(lab.cursor);
    drawDiagram(s);
    drawLayer3Diagram(s);
    drawStp(s);
    drawVrrp(s);
    drawHaproxy(s);
    drawDaemons(s);
    drawRequests(lab.cursor);
    drawTimeline(lab.cursor);
  });
}

async function post(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Lab-Token': token }, body: JSON.stringify(body) });
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.error || `HTTP ${r.status}`);
  return answer;
}

function openFaultMenu(target, x, y) {
  const menu = $('fault-menu');
  menu.dataset.target = target;
  $('fault-title').textContent = target;
  const isLink = lab.model.links.some((l) => l.id === target);
  const buttons = ['down', 'up', ...(isLink ? ['unplug'] : [])].map((action) => {
    const b = el('button', { type: 'button', 'data-action': action }, action);
    b.addEventListener('click', async () => {
      $('fault-result').className = '';
      $('fault-result').textContent = `${target} ${action}…`;
      try {
        $('fault-result').textContent = (await post('/api/fault', { target, action })).done;
      } catch (error) {
        $('fault-result').className = 'error';
        $('fault-result').textContent = error.message;
      }
    });
    return b;
  });
  $('fault-buttons').replaceChildren(...buttons);
  $('fault-result').textContent = '';
  menu.style.left = `${Math.min(x, window.innerWidth - 280)}px`;
  menu.style.top = `${y}px`;
  menu.hidden = false;
}

document.addEventListener('click', (ev) => {
  const hit = ev.target.closest('[data-target]');
  if (hit && hit.dataset.target) return openFaultMenu(hit.dataset.target, ev.clientX + 8, ev.clientY + 8);
  if (!ev.target.closest('#fault-menu')) $('fault-menu').hidden = true;
});

$('requests').addEventListener('click', async () => {
  const run = $('requests').dataset.running !== 'true';
  try {
    const answer = await post('/api/requests', { run });
    $('requests').dataset.running = String(answer.running);
    $('requests').textContent = answer.running ? 'Stop requests' : 'Start requests';
  } catch (error) {
    $('requests').textContent = error.message;
  }
});
$('scrub').addEventListener('input', () => {
  const v = Number($('scrub').value);
  lab.cursor = v >= lab.events.length ? null : v;
  render();
});
$('live').addEventListener('click', () => {
  lab.cursor = null;
  render();
});
setInterval(() => ($('clock').textContent = clock(Date.now())), 100);

async function start() {
  const data = await (await fetch('/api/lab')).json();
  Object.assign(lab, data, { cursor: null });
  $('target').textContent = `${data.target} · ${data.serviceUrl || 'no service'}`;
  $('requests').dataset.running = String(data.requestsRunning);
  $('requests').textContent = data.requestsRunning ? 'Stop requests' : 'Start requests';
  drawLayer3();
  render();
  const last = lab.events.length ? lab.events[lab.events.length - 1].seq : 0;
  const source = new EventSource(`/api/events?since=${last}`);
  source.onopen = () => { $('connection').textContent = 'live'; $('connection').className = 'good'; };
  source.onerror = () => { $('connection').textContent = 'disconnected, retrying'; $('connection').className = 'bad'; };
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    window.labArrivals.push({ received: Date.now(), event: e });
    if (lab.events.length && e.seq <= lab.events[lab.events.length - 1].seq) return;
    lab.events.push(e);
    // While scrubbed back, the view stays where it is; the timeline still grows.
    render();
  };
  document.body.dataset.ready = 'true';
}
start();
