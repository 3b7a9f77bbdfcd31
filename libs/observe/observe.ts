// Observations of a running lab through a driver: STP states, who holds a VIP, what a user gets.
import { parseAnswers, requestsCommand, type Answer } from '../model/service';
import { spanningTree, type StpFaults } from '../model/spanning-tree';
import type { LabModel, StpPortPrediction, VrrpGroupModel } from '../model/types';
import type { Driver } from '../targets/driver';
import { readStp, stpMismatchesOf } from '../targets/kernel-stp';

export type { Answer };

/** Sleeps without giving up the thread: the checks are sequential by nature. */
export function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function predicted(model: LabModel, faults: StpFaults = {}): StpPortPrediction[] {
  return spanningTree(model.bridges, faults).ports;
}

export function stpDiff(driver: Driver, expected: StpPortPrediction[]): string[] {
  return stpMismatchesOf(readStp(driver), expected).map((p) => `${p.bridge}/${p.ifname} ${p.actual} (predicted ${p.state})`);
}

/** Polls until `check` holds; returns the milliseconds it took, or throws with `what`. */
export function waitUntil(driver: Driver, what: string, timeoutMs: number, check: () => boolean, stepMs = 50): number {
  const start = driver.now();
  for (;;) {
    if (check()) return driver.now() - start;
    if (driver.now() - start > timeoutMs) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}`);
    pause(stepMs);
  }
}

/** waitUntil for checks that report instead of throwing: whether `check` came to hold in time. */
export function holdsWithin(driver: Driver, timeoutMs: number, check: () => boolean, stepMs = 50): boolean {
  try {
    waitUntil(driver, 'a condition', timeoutMs, check, stepMs);
    return true;
  } catch {
    return false;
  }
}

export function waitForTree(driver: Driver, faults: StpFaults, extraMs = 10_000): number {
  const { stp } = driver.model;
  const expected = predicted(driver.model, faults);
  let last: string[] = [];
  try {
    return waitUntil(driver, 'the predicted spanning tree', (stp.maxAge + 2 * stp.forwardDelay) * 1000 + extraMs, () => (last = stpDiff(driver, expected)).length === 0, 250);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${last.join(', ')}`);
  }
}

/** The members of a VRRP group that hold its VIP right now, each with the prefix length it holds it with. */
export function vipPrefixes(driver: Driver, group: VrrpGroupModel): Map<string, number> {
  const held = new RegExp(` ${group.vip.replace(/\./g, '\\.')}/(\\d+) `);
  const holders = new Map<string, number>();
  for (const m of group.members) {
    // On the VRRP NIC itself, or on keepalived's virtual-MAC interface on top of it.
    const prefix = held.exec(driver.exec(m.container, 'ip -4 -o addr show').stdout)?.[1];
    if (prefix !== undefined) holders.set(m.container, Number(prefix));
  }
  return holders;
}

/** The members of a VRRP group that hold its VIP right now. */
export function vipHolders(driver: Driver, group: VrrpGroupModel): string[] {
  return [...vipPrefixes(driver, group).keys()];
}

export function get(driver: Driver, user: string, url: string, timeoutS = 2): Answer {
  return serversSeen(driver, user, url, 1, timeoutS)[0];
}

/** `requests` requests from `user`, one after another, in one command on it; an answer missing from the output (the command cut short) counts as none. */
export function serversSeen(driver: Driver, user: string, url: string, requests: number, timeoutS = 2): Answer[] {
  const answers = parseAnswers(driver.exec(user, requestsCommand(url, requests, timeoutS)).stdout);
  return Array.from({ length: requests }, (_, i) => answers[i] ?? { ok: false });
}
