// PLACEHOLDER written by the lead so src/cli/speaker.ts compiles; the IPAM helper replaces the body.
// Contract: runs only while this speaker holds the `openelb-ipam` Lease; assigns/releases Service IPs.
import type { Controller, SpeakerContext } from './context.ts';

export interface IpamControllerOptions {
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export class IpamController implements Controller {
  constructor(readonly ctx: SpeakerContext, readonly opts: IpamControllerOptions = {}) {}
  start(): void {
    throw new Error('IpamController not implemented yet');
  }
  async stop(): Promise<void> {}
  isLeader(): boolean {
    return false;
  }
  ready(): { ok: boolean; detail: string } {
    return { ok: false, detail: 'ipam: not implemented' };
  }
}
