// Facts about the lab's balanced service, derived from the model alone (pure): where users reach
// it and which backend answers there. The twin, the checks and the view all read them here.
import type { HaproxyModel, LabModel } from './types';

/** The URL users reach the service at: the first VIP and the first frontend's port. */
export function serviceUrl(model: LabModel): string | null {
  const g = model.vrrp[0];
  const f = model.haproxy?.frontends[0];
  return g && f ? `http://${g.vip}:${f.port}/` : null;
}

/**
 * haproxy's runtime API socket in each balancer (`stats socket` in haproxy.cfg): its own verdict
 * on each server. Directly under /run, which exists on Alpine and in every twin container (a
 * private tmpfs); a folder such as /run/haproxy would have to be made first.
 */
export const haproxySocket = '/run/haproxy.sock';

/** The backend behind that URL: the first frontend's default backend. */
export function serviceBackend(model: LabModel): HaproxyModel['backends'][number] | undefined {
  const h = model.haproxy;
  return h?.backends.find((b) => b.name === h.frontends[0]?.defaultBackend);
}

/**
 * The servers of that backend the VRRP master reaches at layer 2, in the backend's order: all of
 * them once a VXLAN joins the internal bridges; before it (checkpoint 3, or a lab built up to
 * cp3) only those on the master's own internal bridge.
 */
export function masterServers(model: LabModel): string[] {
  const backend = serviceBackend(model);
  const g = model.vrrp[0];
  const master = g && model.containers.find((c) => c.name === g.master);
  if (!backend || !master) return [];
  const joined = (a: string, b: string) => a === b || model.vxlan.some((s) => s.members.some((m) => m.bridge === a) && s.members.some((m) => m.bridge === b));
  const inner = master.nics.filter((n) => n.subnet !== g.subnet).map((n) => n.bridge);
  const reached = (server: string) => model.containers.find((c) => c.name === server)?.nics.some((n) => inner.some((b) => joined(b, n.bridge))) ?? false;
  return backend.servers.map((s) => s.name).filter(reached);
}

/** The server counts `lab bench --load` measures by default: 1, 3, 6 and 9 servers, up to the backend's size, and all of them. */
export const loadServerCounts = (size: number) => [...[1, 3, 6, 9].filter((n) => n < size), size];

/** One request to the service as a user sees it: answered or not, and by whom (the page's own fields). */
export interface Answer {
  ok: boolean;
  server?: string;
  client?: string;
  balancer?: string;
}

const answerEnd = 'lab-answer-end';
const noAnswer = 'lab-no-answer';

/**
 * A shell command that makes `requests` requests to `url`, one after another, each a curl of its
 * own (a new connection, as a user's browser reload would be): one command to run on a user,
 * however many requests, instead of one remote command per request.
 */
export function requestsCommand(url: string, requests: number, timeoutS: number): string {
  return `i=0; while [ $i -lt ${requests} ]; do curl -sf -m ${timeoutS} ${url} || printf '${noAnswer}'; printf '\\n${answerEnd}\\n'; i=$((i+1)); done`;
}

/** The answers in what requestsCommand printed, in order. */
export function parseAnswers(stdout: string): Answer[] {
  return stdout
    .split(`${answerEnd}\n`)
    .slice(0, -1)
    .map((body) => {
      if (body.includes(noAnswer)) return { ok: false };
      const field = (name: string) => new RegExp(`${name}=(\\S+)`).exec(body)?.[1];
      return { ok: true, server: field('server'), client: field('remote_addr'), balancer: field('balancer') };
    });
}
