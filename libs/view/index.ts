// The live view of a running lab through any driver: observe's live state served as a page.
import type { Driver } from '../targets/driver';
import { LiveLab } from '../observe/live';
import { startViewServer, type ViewServer } from './server';

export interface View {
  live: LiveLab;
  server: ViewServer;
  /** Stops the request loops, the notifications and the server. */
  stop(): Promise<void>;
}

export async function startView(driver: Driver, options: { port?: number; pollMs?: number } = {}): Promise<View> {
  const live = new LiveLab(driver, { pollMs: options.pollMs });
  try {
    const server = await startViewServer(live, { port: options.port });
    return {
      live,
      server,
      stop: async () => {
        live.stop();
        await server.close();
      },
    };
  } catch (error) {
    live.stop();
    throw error;
  }
}
