// The lab guide answers from the model: the blocked port and why, timings, commands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderLab } from '../libs/render';
import { userPathToRoot } from '../libs/model/paths';
import { buildLab, readScenario } from '../libs/spec/load';
import { fixtureModel, practica6 } from './helpers';

const guide = renderLab(practica6())['README.md'];

test('the guide names the root, the blocked port and why it blocks', () => {
  assert.match(guide, 'Root bridge: **swout2** (bridge id `1000.020000000401`, the lowest).');
  assert.match(guide, "Blocked: **swout1 to-vswout2** — vswout2 (port 8001) offers root path cost 4 on this segment, lower than swout1's own 8");
  assert.match(guide, '| swout1 | to-vswout2 | 8002 | 4 | alternate | blocking |');
});

test('the guide answers the VRRP questions from the formula and the STP timers', () => {
  assert.match(guide, '3 × advert_int + skew = 3 × 1 + (256 − 100)/256 = **3.609 s**');
  assert.match(guide, 'listening and learning take 2 × forward delay = **30 s**');
  assert.match(guide, 'usuario reaches the root through swout1 → vswout1 → swout2');
  assert.match(guide, 'about 50 s without service');
  assert.match(guide, 'usuario2 reaches the root through swout2, which avoids vswout1');
  const fast = renderLab(practica6('fast'))['README.md'];
  assert.match(fast, '(VRRPv3)');
  assert.match(fast, '2 × forward delay = **4 s**');
});

test('the guide has both diagrams, every checkpoint and exact commands', () => {
  assert.is(guide.split('```mermaid').length - 1, 2);
  for (const heading of ['### 1. STP (25%)', '### 2. VRRP (30%)', '### 3. The balanced service (30%)', '### 4. VXLAN (15%)', '## Fault drills', '## Questions from the handout']) {
    assert.match(guide, heading);
  }
  assert.match(guide, 'vagrant ssh swout1 -c "sudo bridge link show master swout1"');
  assert.match(guide, 'vagrant ssh vm1 -c "sudo ip link set dev vswout1 down"');
  assert.match(guide, "Users see the master's own MAC");
  assert.match(renderLab(practica6('fast'))['README.md'], 'Users see 00:00:5e:00:01:0c for 172.16.1.254 whoever is master');
  assert.match(guide, "for i in $(seq 4); do curl -s http://172.16.1.254:8000/ | grep -o 'servidor [a-z0-9-]*'; done");
  assert.match(guide, 'answers rotate over serv1, serv2 (roundrobin)');
  assert.match(guide, 'every answer comes from serv3');
  assert.match(guide, 'swout1 -.-|blocked| vswout2');
});

test('checkpoint 1 says, for each end of each link, who must change a port, how it learns of the failure, and how long the tree takes', () => {
  assert.match(guide, '| `vagrant ssh swout1 -c "sudo ip link set dev to-vswout1 down"` | swout1: its own port to-vswout1 went down | 2 × forward delay = 30 s |');
  assert.match(guide, '| `vagrant ssh vm1 -c "sudo ip link set dev to-swout1 down"` | swout1: its port to-vswout1 keeps carrier and hears nothing | max age + 2 × forward delay = 48–50 s |');
  assert.match(guide, '| `vagrant ssh swout2 -c "sudo ip link set dev to-vswout1 down"` | swout1: its root path ran through swout2:vswout1; it ignores the worse news | max age + 2 × forward delay = 48–50 s |');
  assert.match(guide, '| `vagrant ssh swout1 -c "sudo ip link set dev to-vswout2 down"` | nobody | nothing changes |');
  assert.match(renderLab(practica6('fast'))['README.md'], '| `vagrant ssh swout1 -c "sudo ip link set dev to-vswout1 down"` | swout1: its own port to-vswout1 went down | 2 × forward delay = 4 s |');
  assert.not.match(renderLab(fixtureModel('external-only'))['README.md'], 'undefined');
});

test('three hosts: checkpoint 3 cuts the VXLAN on every host, the diagram draws the mesh, the haproxy options are explained', () => {
  const curso3 = renderLab(buildLab(readScenario('curso3'), { source: 'curso3' }));
  const text = curso3['README.md'];
  for (const h of ['h1', 'h2', 'h3']) assert.match(text, `vagrant ssh ${h} -c "sudo ip link set dev vxint down"`);
  assert.match(text, 'every answer comes from web3, web4, the servers on lb2');
  for (const edge of ['int1 ===|"VXLAN vxint VNI 100"| int2', 'int1 ===|"VXLAN vxint VNI 100"| int3', 'int2 ===|"VXLAN vxint VNI 100"| int3']) assert.match(text, edge);
  assert.match(text, 'over 16 requests about web1 2, web2 2, web3 2, web4 2, web5 4, web6 4');
  assert.match(text, 'curl -s -c jar -b jar http://172.16.2.254:8000/');
  assert.match(text, 'curl -s http://172.16.2.254:8000/static/x');
  assert.match(text, 'answers only from web2, web4, web6');
  // A routed path is served by the servers of its backend, with a page that names them.
  for (const web of ['web2', 'web4', 'web6']) assert.match(curso3[`containers/${web}/lab.conf`], 'AliasMatch "^/static(/.*)?$" "/var/www/localhost/htdocs/index.php"');
  assert.not.match(curso3['containers/web1/lab.conf'], 'AliasMatch');
  assert.not.match(guide, '### This lab\'s haproxy options');
});

test('paths to the root follow root ports', () => {
  assert.equal(userPathToRoot(practica6(), 'usuario'), ['swout1', 'vswout1', 'swout2']);
  assert.equal(userPathToRoot(fixtureModel('triple'), 'client2'), ['edge', 'ext1', 'core']);
});

test.run();
