// PLACEHOLDER written by the lead so src/cli/speaker.ts compiles; the speaker helper replaces the body.
// Contract: membership Lease + per-IP election + Announcer for the IPs this node owns.
import type { Controller, SpeakerContext } from './context.ts';

export interface Layer2ControllerOptions {
  membershipLeaseDurationMs?: number;
  membershipRetryPeriodMs?: number;
}

export class Layer2Controller implements Controller {
  constructor(readonly ctx: SpeakerContext, readonly opts: Layer2ControllerOptions = {}) {}
  start(): void {
    throw new Error('Layer2Controller not implemented yet');
  }
  async stop(): Promise<void> {}
  ready(): { ok: boolean; detail: string } {
    return { ok: false, detail: 'layer2: not implemented' };
  }
}
