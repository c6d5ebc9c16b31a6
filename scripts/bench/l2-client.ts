// bench-helper (not a benchmark; scripts/bench/run.sh skips files whose first line says so).
// The asking side of the L2 benchmarks, run inside the client namespace. One raw socket, blocking
// poll() with a timeout between sends (no busy loop), synchronous koffi calls:
//   l2-client.ts rtt  IF arp|ndp SRC_IP TARGET[,TARGET...] COUNT GAP_MS
//       -> {"rtt": {TARGET: [µs...]}, "lost": {TARGET: n}}: requests alternate between the targets
//          (e.g. the kernel's address and ours), one at a time, GAP_MS apart.
//   l2-client.ts rate IF arp|ndp SRC_IP TARGET RATE SECONDS
//       -> {"sent": n, "answered": n}: RATE requests/s, paced every millisecond, for SECONDS,
//          then 200 ms more to collect late answers.
import process from 'node:process';
import { arpFilter, ndpFilter } from '../../src/l2/bpf-filters.ts';
import * as libc from '../../native-bindings/libc.ts';
import koffi from 'koffi';
import { readFileSync } from 'node:fs';
import { arpRequestFrame } from '../../src/l2/arp.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from '../../src/l2/ethernet.ts';
import { ipEquals, parseIPBytes } from '../../src/net/ip.ts';
import { solicitedNodeAddress } from '../../src/l2/ipv6.ts';
import { parseMac, solicitedNodeMulticastMac } from '../../src/l2/mac.ts';
import { ndpFrame } from '../../src/l2/ndp.ts';

const [mode, ifname = 'eth0', family = 'arp', srcText = '', targetsText = '', a = '0', b = '0'] = process.argv.slice(2);
const arp = family === 'arp';
const mac = parseMac(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim())!;
const src = parseIPBytes(srcText)!;

// Blocking-capable raw socket with the responder's own filter (incoming ARP / NS+NA only).
const ethertype = arp ? ETHERTYPE_ARP : ETHERTYPE_IPV6;
const fd = libc.socket(libc.AF_PACKET, libc.SOCK_RAW | libc.SOCK_CLOEXEC, 0) as number;
if (fd < 0) throw new Error(`socket: errno ${libc.errno()}`);
const filter = arp ? arpFilter() : ndpFilter();
if ((libc.setsockoptFprog(fd, libc.SOL_SOCKET, libc.SO_ATTACH_FILTER, { len: filter.length, filter }, koffi.sizeof(libc.SockFprog)) as number) !== 0) {
  throw new Error(`SO_ATTACH_FILTER: errno ${libc.errno()}`);
}
const ifindex = libc.if_nametoindex(ifname) as number;
const addr = libc.sockaddrLl(ifindex, ethertype);
if ((libc.bind(fd, addr, addr.length) as number) !== 0) throw new Error(`bind: errno ${libc.errno()}`);
const rcvbuf = new Int32Array([4 << 20]);
libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUF, rcvbuf, 4);

function request(target: Uint8Array): Uint8Array {
  if (arp) return arpRequestFrame(mac, src, target);
  return ndpFrame(solicitedNodeMulticastMac(target), mac, {
    type: 'ns', src, dst: solicitedNodeAddress(target), hopLimit: 255, target, sourceLinkLayer: mac,
  });
}

/** The target an answer is about, or -1: ARP reply sender IP / NA target, matched against targets. */
function answerIndex(frame: Uint8Array, n: number, targets: Uint8Array[]): number {
  if (arp) {
    if (n < 42 || frame[12] !== 0x08 || frame[13] !== 0x06 || frame[21] !== 2) return -1;
    return targets.findIndex((t) => ipEquals(frame, 28, t, 0, 4));
  }
  if (n < 78 || frame[54] !== 136) return -1;
  return targets.findIndex((t) => ipEquals(frame, 62, t, 0, 16));
}

const buf = new Uint8Array(2048);
const pfd = new Uint8Array(8);
const pview = new DataView(pfd.buffer);
function pollIn(timeoutMs: number): boolean {
  pview.setInt32(0, fd, true);
  pview.setInt16(4, libc.POLLIN, true);
  pview.setInt16(6, 0, true);
  return (libc.poll(pfd, 1, timeoutMs) as number) > 0;
}
function recvOne(): number {
  return libc.recv(fd, buf, buf.length, libc.MSG_DONTWAIT) as number;
}
function send(frame: Uint8Array): boolean {
  return (libc.sendto(fd, frame, frame.length, 0, addr, addr.length) as number) >= 0;
}
const now = (): number => Number(process.hrtime.bigint()) / 1000; // µs
const sleepMs = (ms: number): void => void pollOnlyTimeout(ms);
function pollOnlyTimeout(ms: number): void {
  // Sleep without reading: poll on no descriptor.
  libc.poll(new Uint8Array(0), 0, ms);
}

const targetTexts = targetsText.split(',');
const targets = targetTexts.map((t) => parseIPBytes(t)!);
const frames = targets.map(request);

if (mode === 'rtt') {
  const count = Number(a);
  const gap = Number(b);
  const rtt: Record<string, number[]> = Object.fromEntries(targetTexts.map((t) => [t, []]));
  const lost: Record<string, number> = Object.fromEntries(targetTexts.map((t) => [t, 0]));
  while (recvOne() > 0); // stale frames
  for (let i = 0; i < count * targets.length; i++) {
    const k = i % targets.length;
    const t0 = now();
    send(frames[k]!);
    let got = false;
    while (!got) {
      const left = 200 - (now() - t0) / 1000;
      if (left <= 0 || !pollIn(Math.ceil(left))) break;
      for (let n = recvOne(); n > 0; n = recvOne()) {
        if (answerIndex(buf, n, targets) === k) {
          rtt[targetTexts[k]!]!.push(now() - t0);
          got = true;
          break;
        }
      }
    }
    if (!got) lost[targetTexts[k]!]!++;
    while (recvOne() > 0); // duplicates
    sleepMs(gap);
  }
  process.stdout.write(JSON.stringify({ rtt, lost }) + '\n');
} else if (mode === 'rate') {
  const rate = Number(a);
  const seconds = Number(b);
  let sent = 0;
  let answered = 0;
  const t0 = now();
  const end = t0 + seconds * 1e6;
  const drain = (): void => {
    for (let n = recvOne(); n > 0; n = recvOne()) if (answerIndex(buf, n, targets) === 0) answered++;
  };
  while (now() < end) {
    const due = Math.floor(((now() - t0) / 1e6) * rate);
    while (sent < due) {
      send(frames[0]!);
      sent++;
    }
    if (pollIn(1)) drain();
  }
  const collect = now() + 200_000;
  while (now() < collect) if (pollIn(20)) drain();
  process.stdout.write(JSON.stringify({ rate, seconds, sent, answered }) + '\n');
} else {
  process.stderr.write('usage: l2-client.ts rtt|rate IF arp|ndp SRC_IP TARGETS A B\n');
  process.exit(2);
}
libc.close(fd);
