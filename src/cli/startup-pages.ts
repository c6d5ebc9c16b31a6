// When the long-running commands (speaker, announce) give back the pages only their start-up
// touched (native-bindings/startup-pages.ts says why and what is safe to drop).
import process from 'node:process';
import { dropStartupPages } from '../../native-bindings/startup-pages.ts';
import { log } from '../log.ts';

/** Environment switch: `0` keeps every page (benchmarks compare both in one run). */
export const DROP_STARTUP_PAGES_ENV = 'OPENELB_TS_DROP_STARTUP_PAGES';

/**
 * Drops start-up-only pages once start-up has settled and once more after the first minute (the
 * first reconciles, bursts and cache syncs have their own one-off code). Timers never keep the
 * process alive; a failure only means the pages stay.
 */
export function scheduleStartupPageDrop(delaysMs: readonly number[] = [2000, 60_000]): void {
  if (process.env[DROP_STARTUP_PAGES_ENV] === '0' || process.platform !== 'linux') return;
  for (const ms of delaysMs) {
    setTimeout(() => {
      try {
        const r = dropStartupPages();
        log.debug('gave back start-up pages', { mappings: r.mappings, addressSpaceMiB: Math.round(r.bytes / 1048576) });
      } catch (err) {
        log.debug('could not give back start-up pages', { error: err instanceof Error ? err.message : String(err) });
      }
    }, ms).unref();
  }
}
