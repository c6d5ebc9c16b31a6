// Live heap per announced address, measured by scripts/bench/memory-per-address-child.ts inside a
// fresh namespace of `lab` holding the veth NIC d0 (real AF_PACKET sockets need a real Ethernet
// NIC). Shared by the benchmark (scripts/bench/memory-per-address.ts) and its regression test
// (test/netns/memory-per-address.test.ts).
import { type Lab, tsxArgv } from './netns.ts';

export interface AddressHeap {
  /** Addresses added between the two measurements (from N to 2N). */
  n: number;
  /** Live V8 heap bytes per announced IPv4 / IPv6 address. */
  ipv4: number;
  ipv6: number;
}

export async function addressHeap(lab: Lab, n: number): Promise<AddressHeap> {
  const ns = await lab.namespace('heap');
  await ns.ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  await ns.ip('link', 'set', 'd1', 'up');
  await ns.ip('link', 'set', 'd0', 'up');
  const r = await ns.exec(tsxArgv('scripts/bench/memory-per-address-child.ts', String(n)), { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`memory-per-address-child exited ${r.code ?? r.signal}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as AddressHeap;
}
