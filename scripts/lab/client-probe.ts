// The client's side of a failover measurement, run INSIDE the lab's client namespace:
//   - every ARP frame received on eth0 whose sender IP is a watched VIP is printed as
//     `{"kind":"arp","t":<epoch ms>,"ip":..,"mac":..,"op":1|2}` (the kernel updates the client's
//     neighbour entry from exactly these frames, so their arrival time is when the entry flips);
//   - with --http, an HTTP GET to each VIP every --interval ms (fresh connection, --timeout ms), each
//     outcome printed as `{"kind":"http","t":..,"ip":..,"ok":true|false,"body":..}`.
// Times are performance.timeOrigin + performance.now(), comparable with the same in the lab process.
// Usage: client-probe.ts --ip VIP [--ip VIP2] [--http] [--port 80] [--interval 20] [--timeout 250]
import { request } from 'node:http';
import process from 'node:process';
import { arpFilter } from '../../src/l2/bpf-filters.ts';
import { PacketSocket } from '../../native-bindings/packet-socket.ts';
import * as arp from '../../src/l2/arp.ts';
import * as ethernet from '../../src/l2/ethernet.ts';
import { formatIPv4 } from '../../src/net/ip.ts';
import { formatMac } from '../../src/l2/mac.ts';

const argv = process.argv.slice(2);
const values = (name: string): string[] => argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1]!] : []));
const ips = new Set(values('ip'));
const http = argv.includes('--http');
const port = Number(values('port')[0] ?? 80);
const interval = Number(values('interval')[0] ?? 20);
const timeout = Number(values('timeout')[0] ?? 250);
const now = () => performance.timeOrigin + performance.now();
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

const sock = PacketSocket.open({ ifname: 'eth0', ethertype: 0x0806, filter: arpFilter() });
sock.onFrame((f) => {
  const t = now();
  const eth = ethernet.decode(f.data);
  if (!eth.ok) return;
  const a = arp.decode(eth.value.payload);
  if (!a.ok) return;
  const ip = formatIPv4(a.value.senderIp);
  if (ips.has(ip)) out({ kind: 'arp', t, ip, mac: formatMac(a.value.senderMac), op: a.value.op });
});

function get(ip: string): void {
  const t = now();
  const req = request({ host: ip, port, path: '/', agent: false, timeout }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (body += d));
    res.on('end', () => out({ kind: 'http', t, done: now(), ip, ok: res.statusCode === 200, body: body.trim() }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => out({ kind: 'http', t, done: now(), ip, ok: false }));
  req.end();
}

const timer = http ? setInterval(() => ips.forEach(get), interval) : undefined;
process.stdout.write('ready\n');
const stop = () => {
  if (timer) clearInterval(timer);
  sock.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop).resume();
