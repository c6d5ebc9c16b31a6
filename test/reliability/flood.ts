// Hostile-traffic generator for the reliability suite (Node; root or CAP_NET_RAW):
//   flood.ts IFNAME MODE DURATION_MS [key=value ...]
// MODE:
//   arp-other   ARP who-has for addresses nobody announces, from 256 spoofed MAC/IP pairs
//   arp-owned   ARP who-has for target= (an address the responder owns), from 256 spoofed askers:
//               every frame asks for an answer (the expensive case)
//   ns-other    Neighbor Solicitations (valid: hop limit 255, checksum, SLLAO) for unowned targets
//   ns-owned    Neighbor Solicitations for target6= from 256 spoofed askers
//   mixed       the four above interleaved
//   garp        spoofed gratuitous ARP (request + reply) for target= from mac=, every interval-ms=
//   garp-alternate  spoofed gratuitous ARP requests for target=, alternating between mac= and mac2=
//               (each frame a "new" claimer), at pps= or line rate; count= stops after that many
// Frames are well formed (they pass every validation), built once with the project's codecs and
// sent round-robin as fast as the socket takes them (line rate on a veth/bridge, one core), or at
// pps= per second when given. Prints {"event":"started"} then {"event":"done","sent":N,"ms":T}.
import process from 'node:process';
import { dropAllFilter } from '../../native-bindings/bpf.ts';
import { PacketSocket } from '../../native-bindings/packet-socket.ts';
import { arpRequestFrame, gratuitousArpReplyFrame, gratuitousArpRequestFrame } from '../../src/l2/arp.ts';
import { ndpFrame } from '../../src/l2/ndp.ts';
import { parseIPv4, parseIPv6 } from '../../src/net/ip.ts';
import { solicitedNodeAddress } from '../../src/l2/ipv6.ts';
import { parseMac, solicitedNodeMulticastMac } from '../../src/l2/mac.ts';

const [ifname = '', mode = 'mixed', durationText = '3000', ...kv] = process.argv.slice(2);
const opt = Object.fromEntries(kv.map((s) => s.split('=', 2) as [string, string]));
const duration = Number(durationText);
const target = parseIPv4(opt['target'] ?? '10.99.0.77')!;
const target6 = parseIPv6(opt['target6'] ?? 'fd00:99::77')!;
const pps = Number(opt['pps'] ?? 0);
const count = Number(opt['count'] ?? Infinity);

const mac = (i: number): Uint8Array => new Uint8Array([0x02, 0xee, 0x00, 0x00, (i >> 8) & 0xff, i & 0xff]);
const v4 = (a: number, b: number): Uint8Array => new Uint8Array([10, 99, a, b]);
const v6 = (i: number): Uint8Array => {
  const b = parseIPv6('fd00:99::')!;
  b[13] = 0xee;
  b[14] = (i >> 8) & 0xff;
  b[15] = i & 0xff;
  return b;
};

function ns(i: number, tgt: Uint8Array): Uint8Array {
  const dst = solicitedNodeAddress(tgt);
  return ndpFrame(solicitedNodeMulticastMac(tgt), mac(i), { type: 'ns', src: v6(i), dst, hopLimit: 255, target: tgt, sourceLinkLayer: mac(i) });
}

const builders: Record<string, (i: number) => Uint8Array> = {
  'arp-other': (i) => arpRequestFrame(mac(i), v4(200, i & 0xff), v4(201, (i * 7) & 0xff)),
  'arp-owned': (i) => arpRequestFrame(mac(i), v4(200, i & 0xff), target),
  'ns-other': (i) => {
    const t = v6(0x4000 + i);
    return ns(i, t);
  },
  'ns-owned': (i) => ns(i, target6),
};

const sock = PacketSocket.open({ ifname, ethertype: 0x88b5, filter: dropAllFilter() });
let frames: Uint8Array[];
let intervalMs = 0;
if (mode === 'garp') {
  const m = parseMac(opt['mac'] ?? '02:00:00:00:00:99')!;
  frames = [gratuitousArpRequestFrame(m, target), gratuitousArpReplyFrame(m, target)];
  intervalMs = Number(opt['interval-ms'] ?? 100);
} else if (mode === 'garp-alternate') {
  const m1 = parseMac(opt['mac'] ?? '02:00:00:00:00:98')!;
  const m2 = parseMac(opt['mac2'] ?? '02:00:00:00:00:99')!;
  frames = [gratuitousArpRequestFrame(m1, target), gratuitousArpRequestFrame(m2, target)];
} else if (mode === 'mixed') {
  const kinds = Object.values(builders);
  frames = Array.from({ length: 1024 }, (_, i) => kinds[i % kinds.length]!(i >> 2));
} else {
  const b = builders[mode];
  if (!b) throw new Error(`unknown mode ${mode}`);
  frames = Array.from({ length: 256 }, (_, i) => b(i));
}

process.stdout.write(JSON.stringify({ event: 'started', mode, frames: frames.length }) + '\n');
const started = performance.now();
const end = started + duration;
let sent = 0;
let failed = 0;
let k = 0;

function finish(): void {
  sock.close();
  process.stdout.write(JSON.stringify({ event: 'done', mode, sent, failed, ms: Math.round(performance.now() - started) }) + '\n');
}

if (intervalMs > 0) {
  const tick = (): void => {
    for (const f of frames) if (sock.send(f)) sent++;
    if (performance.now() + intervalMs < end) setTimeout(tick, intervalMs);
    else finish();
  };
  tick();
} else {
  const batch = (): void => {
    const now = performance.now();
    // With pps=, send only what is due; otherwise a batch per turn of the event loop.
    const due = Math.min(count - sent - failed, pps > 0 ? Math.floor(((now - started) * pps) / 1000) - sent - failed : 512);
    for (let i = 0; i < due; i++) {
      if (sock.send(frames[k++ % frames.length]!)) sent++;
      else failed++;
    }
    if (now < end && sent + failed < count) {
      if (pps > 0) setTimeout(batch, 1);
      else setImmediate(batch);
    } else finish();
  };
  batch();
}
