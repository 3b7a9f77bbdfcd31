// Facts about the lab's balanced service, derived from the model alone (pure): where users reach
// it and which backend answers there. The twin, the checks and the view all read them here.
import type { HaproxyModel, LabModel } from './types';

/** The URL users reach the service at: the first VIP and the first frontend's port. */
export function serviceUrl(model: LabModel): string | null {
  const g = model.vrrp[0];
  const f = model.haproxy?.frontends[0];
  return g && f ? `http://${g.vip}:${f.port}/` : null;
}

/** The backend behind that URL: the first frontend's default backend. */
export function serviceBackend(model: LabModel): HaproxyModel['backends'][number] | undefined {
  const h = model.haproxy;
  return h?.backends.find((b) => b.name === h.frontends[0]?.defaultBackend);
}
