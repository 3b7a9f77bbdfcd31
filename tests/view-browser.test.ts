// The live view in a real browser (Debian's chromium, driven by playwright-core) on the twin of
// practica6 (seed): the page shows the tree and the VIP as the kernel and keepalived have them,
// and a click takes vswout1 down and up (checkpoint 2). Saves docs/view.png at the failover.
// Needs root. Everything it starts is removed at the end, also when a test fails.
import { createServer, type Server } from 'http';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveLab } from '../libs/model/resolve';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { twinDriver } from '../libs/targets/twin-driver';
import { down, labNamespaces, loadTwinLab, up } from '../libs/twin/twin';
import { startView, type View } from '../libs/view';
import { practica6Spec, root } from './helpers';

const name = 'viewbrowser';
const base = mkdtempSync(join(tmpdir(), 'lab-view-'));
// Apache runs as www-data and must read the pages.
chmodSync(base, 0o755);
const dir = join(base, name);
writeLab(renderLab(resolveLab(practica6Spec(), { name, source: 'practica6' })), dir);
const lab = loadTwinLab(dir);
let view: View | undefined;
let browser: Browser | undefined;
let page: Page;
let elsewhere: Server | undefined;

const cleanupLab = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
  rmSync(base, { recursive: true, force: true });
};
process.on('exit', cleanupLab);

async function cleanupAll(): Promise<void> {
  await browser?.close();
  await view?.stop();
  await new Promise<void>((resolve) => (elsewhere ? elsewhere.close(() => resolve()) : resolve()));
  cleanupLab();
}

const t = suite('the live view in chromium, on the twin of practica6 (seed)');

t.before(async () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
  // uvu runs no after hook when before fails: clean up here, then fail.
  try {
    const report = await up(lab, () => undefined);
    console.log(`\n  twin up: ${report.seconds.toFixed(1)} s`);
    view = await startView(twinDriver(lab));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    await page.goto(view.server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  } catch (error) {
    // uvu does not print a hook's error: say why here.
    console.error(`\n  setup failed: ${(error as Error).stack ?? error}`);
    await cleanupAll();
    throw error;
  }
});

t.after(cleanupAll);

const holders = () => page.getAttribute('[id^="vip-"]', 'data-holders');

t('the page shows swout2 as root and swout1/to-vswout2 blocked, bal1 holding the VIP', async () => {
  await page.waitForSelector('#stp-root[data-root="swout2"]', { timeout: 5000 });
  await page.waitForSelector('#stp tr[data-port="swout1/to-vswout2"][data-state="blocking"]', { timeout: 5000 });
  await page.waitForSelector('#diagram circle[data-port="swout1/to-vswout2"].blocking', { timeout: 5000 });
  assert.is(await page.locator('#stp tr.differs').count(), 0, 'no port differs from the prediction');
  assert.is(await holders(), 'bal1');
});

t('a fault request from another origin is refused by the server, and nothing changes', async () => {
  elsewhere = createServer((_, res) => res.end('<html><body>another site</body></html>'));
  await new Promise<void>((resolve) => elsewhere!.listen(0, '127.0.0.1', resolve));
  const other = await browser!.newPage();
  try {
    const port = (elsewhere.address() as { port: number }).port;
    await other.goto(`http://localhost:${port}/`);
    const target = `${view!.server.url}api/fault`;
    // A "simple" request (no preflight) reaches the server with its Origin; a JSON one is stopped at the preflight.
    const answers = await other.evaluate(async (url) => {
      const simple = await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"target":"vswout1","action":"down"}' }).then(() => 'sent', (e) => `blocked: ${e}`);
      const json = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Lab-Token': 'stolen?' }, body: '{"target":"vswout1","action":"down"}' }).then((r) => `status ${r.status}`, (e) => `blocked: ${e}`);
      return [simple, json];
    }, target);
    assert.match(answers[1], /^blocked/);
  } finally {
    await other.close();
  }
  assert.equal(view!.live.events.filter((e) => e.kind === 'fault'), [], 'no fault reached the lab');
  assert.is(await holders(), 'bal1');
});

t('clicking vswout1 down makes bal2 the VIP holder in the page within 6 s, and requests come from serv3 only; the timeline scrubs back', async () => {
  await page.click('#requests');
  await page.waitForSelector('#request-stream .req', { timeout: 5000 });
  await page.click('#diagram [data-node="vswout1"]');
  const clicked = Date.now();
  await page.click('#fault-menu button[data-action="down"]');
  await page.waitForSelector('[id^="vip-"][data-holders~="bal2"]', { timeout: 6000 });
  console.log(`  bal2 holds the VIP in the page ${((Date.now() - clicked) / 1000).toFixed(1)} s after the click (holders: ${await holders()})`);
  // bal2 reaches serv1 and serv2 only through the VXLAN, whose end on vm1 sits on vswout1. usuario2
  // (on swout2) is served again within seconds; usuario waits for swout1 to give up its root port
  // (max age + 2 × forward delay, 50 s), so the test looks at usuario2.
  const usuario2 = '#request-stream [data-user="usuario2"]';
  const answered = async () => Number(await page.getAttribute(usuario2, 'data-ok-since-fault'));
  for (const end = Date.now() + 20_000; (await answered()) < 10 && Date.now() < end; ) await page.waitForTimeout(200);
  assert.ok((await answered()) >= 10, `usuario2 got ${await answered()} answers since the fault`);
  assert.is(await page.getAttribute(usuario2, 'data-servers-since-fault'), 'serv3');
  console.log(`  usuario2 served by serv3 only (${await answered()} answers) ${((Date.now() - clicked) / 1000).toFixed(1)} s after the click`);
  mkdirSync(join(root, 'docs'), { recursive: true });
  await page.screenshot({ path: join(root, 'docs', 'view.png'), fullPage: true });
  // The timeline scrubbed back to the start shows the lab as it was: bal1 alone; End is live again.
  await page.focus('#scrub');
  await page.keyboard.press('Home');
  await page.waitForSelector('[id^="vip-"][data-holders="bal1"]', { timeout: 2000 });
  assert.match(String(await page.textContent('#cursor-time')), /^at .* \(event 0 of \d+\)$/);
  await page.keyboard.press('End');
  await page.waitForSelector('[id^="vip-"][data-holders~="bal2"]', { timeout: 2000 });
});

t('clicking vswout1 up brings bal1 back as the only holder (after STP forwards again: 2 × forward delay)', async () => {
  await page.click('#diagram [data-node="vswout1"]');
  await page.click('#fault-menu button[data-action="up"]');
  const clicked = Date.now();
  await page.waitForSelector('[id^="vip-"][data-holders="bal1"]', { timeout: 45_000 });
  await page.waitForSelector('[data-member="bal1"][data-state="MASTER"]', { timeout: 1000 });
  console.log(`  bal1 alone holds the VIP again ${((Date.now() - clicked) / 1000).toFixed(1)} s after the click`);
  const timeline = (await page.evaluate(() => fetch('/api/timeline').then((r) => r.json()))) as { events: Array<{ kind: string; text: string }> };
  const faults = timeline.events.filter((e) => e.kind === 'fault').map((e) => e.text);
  assert.equal(faults, ['fault: vswout1 down', 'fault: vswout1 up']);
});

t.run();
