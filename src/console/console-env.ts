/** The Hono environment of the console app and its route modules (what the session middleware sets). */
import type { Context } from 'hono';
import type { AdminAccountRecord } from '../store/store.js';
import type { Viewer } from './console-layout.js';

export interface ConsoleEnv {
  Variables: {
    viewer: Viewer;
    account: AdminAccountRecord;
    sessionId: string;
  };
}

export type Ctx = Context<ConsoleEnv>;
