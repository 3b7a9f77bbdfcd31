// The live view's web server: the page and its assets (from this folder and node_modules only),
// the lab and its layout, live events over SSE, and faults and the request stream on POST.
// It can take the lab down, so only this page may: it binds 127.0.0.1, every POST needs the
// page's per-run token, and a request from another origin (or to another Host, DNS rebinding)
// is refused. Bad input gets a 4xx and changes nothing.
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { join } from 'path';
import { faultTargetNames, faultActions } from '../model/fault-target';
import { serviceUrl } from '../model/service';
import { BadRequest, type LiveEvent, type LiveLab } from '../observe/live';
import { layoutLab, type ViewLayout } from './layout';

export interface ViewServer {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const pageDir = join(__dirname, 'page');
const assets: Record<string, { file: string; type: string }> = {
  '/assets/app.js': { file: join(pageDir, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: join(pageDir, 'app.css'), type: 'text/css; charset=utf-8' },
};
const maxBody = 4096;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8', extra: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send a JSON body (Content-Type: application/json)');
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > maxBody) throw new HttpError(413, `body larger than ${maxBody} bytes`);
  }
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new HttpError(400, 'the body is not a JSON object');
}

export async function startViewServer(live: LiveLab, options: { port?: number; host?: string } = {}): Promise<ViewServer> {
  const host = options.host ?? '127.0.0.1';
  const token = randomBytes(24).toString('hex');
  const layout: ViewLayout = await layoutLab(live.model);
  const clients = new Set<ServerResponse>();
  let origin = '';

  const unsubscribe = live.subscribe((e: LiveEvent) => {
    const frame = `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`;
    for (const c of clients) c.write(frame);
  });

  /** Same origin only: the Host we listen on, no foreign Origin, no cross-site fetch. */
  const sameOrigin = (req: IncomingMessage) => {
    const port = new URL(origin).port;
    const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
    if (!hosts.includes(req.headers.host ?? '')) throw new HttpError(403, `wrong Host ${JSON.stringify(req.headers.host ?? '')}: this page is served at ${origin}`);
    const from = req.headers.origin;
    if (from !== undefined && !hosts.map((h) => `http://${h}`).includes(from)) throw new HttpError(403, `cross-origin request from ${from} refused`);
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, `cross-site request (${site}) refused`);
  };
  const needToken = (req: IncomingMessage) => {
    if (req.headers['x-lab-token'] !== token) throw new HttpError(403, 'missing or wrong X-Lab-Token: faults come only from the page this server served');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', origin).pathname;
    sameOrigin(req);
    if (req.method === 'GET' && path === '/') {
      const html = readFileSync(join(pageDir, 'index.html'), 'utf8').replace('@TOKEN@', token).replace(/@LAB@/g, live.model.name);
      return send(res, 200, html, 'text/html; charset=utf-8', { 'Content-Security-Policy': "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:" });
    }
    if (req.method === 'GET' && path === '/favicon.ico') return send(res, 204, '');
    if (req.method === 'GET' && assets[path]) return send(res, 200, readFileSync(assets[path].file, 'utf8'), assets[path].type);
    if (req.method === 'GET' && path === '/api/lab') {
      return send(res, 200, {
        model: live.model,
        target: live.driver.name,
        layout,
        serviceUrl: serviceUrl(live.model),
        faultTargets: faultTargetNames(live.model),
        faultActions,
        started: live.started,
        initial: live.initial,
        events: live.events,
        requestsRunning: live.requestsRunning,
      });
    }
    if (req.method === 'GET' && path === '/api/timeline') {
      return send(res, 200, { lab: live.model.name, target: live.driver.name, started: live.started, initial: live.initial, events: live.events }, 'application/json; charset=utf-8', {
        'Content-Disposition': `attachment; filename="${live.model.name}-timeline.json"`,
      });
    }
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      // Events the page has not seen yet (it loaded /api/lab with the events up to then).
      const since = Number(new URL(req.url ?? '/', origin).searchParams.get('since') ?? req.headers['last-event-id'] ?? 0);
      for (const e of live.events) if (e.seq > since) res.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (req.method === 'POST' && (path === '/api/fault' || path === '/api/requests')) {
      needToken(req);
      const body = await readJson(req);
      if (path === '/api/fault') return send(res, 200, { done: live.fault(body.target, body.action) });
      if (typeof body.run !== 'boolean') throw new HttpError(400, 'give {"run": true} or {"run": false}');
      if (body.run) live.startRequests();
      else live.stopRequests();
      return send(res, 200, { running: live.requestsRunning });
    }
    throw new HttpError(req.method === 'GET' || req.method === 'POST' ? 404 : 405, `no ${req.method} ${path} here`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      const status = error instanceof HttpError ? error.status : error instanceof BadRequest ? 400 : 500;
      if (!res.headersSent) send(res, status, { error: error.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/`,
    token,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}
