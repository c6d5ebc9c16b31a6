// The BGP end of scripts/kit/bgp-capture.ts, run inside a namespace: accepts one connection from a
// real router on port 179, answers its OPEN with ours (the codec's encoder), and prints every
// message in and out as one line, `in <hex>` / `out <hex>`, plus `event ...` lines. After the router's
// first KEEPALIVE it announces the configured prefixes (packUpdates) and End-of-RIB per family.
// stdin commands: `garbage` sends a header with a broken marker (the router must answer 1/1),
// `close` sends Cease and exits. argv[2] is the JSON PeerScript below.
// With `cases`, the router's k-th connection gets case k instead: malformed bytes sent in place of
// our OPEN ('open') or once the session is up ('established'), and the router's answer is printed
// as `event case K notification CODE/SUBCODE DATAHEX`, `event case K none` (nothing within 1 s:
// the session stayed up) or `event case K closed`; then `event cases-done`.
import { createServer, type Socket } from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';
import {
  AS_TRANS,
  type BgpMessage,
  type Capability,
  type CodecOptions,
  type OpenMessage,
  type Prefix,
  decodeMessage,
  encodeMessage,
  endOfRib,
  endOfRibFamily,
  frameLength,
  packUpdates,
} from '../../src/bgp/codec/index.ts';

export interface PeerScript {
  port: number;
  myAs: number;
  bgpId: string;
  /** Offer the four-octet-as capability. */
  fourOctetAs: boolean;
  families: [number, number][];
  announce4?: { prefixes: Prefix[]; nextHop: string };
  announce6?: { prefixes: Prefix[]; nextHops: string[] };
  cases?: PeerCase[];
}

export interface PeerCase {
  when: 'open' | 'established';
  hex: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The OPEN this peer sends: its families, route refresh, four-octet AS when offered (AS_TRANS in My AS above 65535). */
export function peerOpen(s: Pick<PeerScript, 'myAs' | 'bgpId' | 'fourOctetAs' | 'families'>, holdTime: number): OpenMessage {
  const capabilities: Capability[] = s.families.map(([afi, safi]) => ({ kind: 'multiprotocol', afi, safi }));
  capabilities.push({ kind: 'route-refresh' });
  if (s.fourOctetAs) capabilities.push({ kind: 'four-octet-as', as: s.myAs });
  return { type: 'open', version: 4, myAs: s.myAs > 0xffff ? AS_TRANS : s.myAs, holdTime, bgpId: s.bgpId, capabilities };
}

function main(script: PeerScript): void {
  let connections = 0;
  const server = createServer((sock) => {
    const k = connections++;
    if (!script.cases) server.close();
    else if (k >= script.cases.length) {
      sock.destroy();
      return;
    }
    session(sock, script, script.cases?.[k], k);
  });
  server.listen(script.port, '::', () => console.log('event listening'));
}

function session(sock: Socket, s: PeerScript, bad: PeerCase | undefined, k: number): void {
  let answered = false;
  const answer = (what: string) => {
    if (answered || !bad) return;
    answered = true;
    console.log(`event case ${k} ${what}`);
    if (k === (s.cases?.length ?? 0) - 1) console.log('event cases-done');
  };
  const sendRaw = (h: string) => {
    console.log(`out ${h}`);
    sock.write(Buffer.from(h, 'hex'));
  };
  sock.setNoDelay(true);
  let opts: CodecOptions = { fourOctetAs: false };
  let peerFourOctet = false;
  let established = false;
  let buf = new Uint8Array(0);
  const send = (m: BgpMessage) => {
    const b = encodeMessage(m, opts);
    console.log(`out ${hex(b)}`);
    sock.write(b);
  };
  sock.on('data', (chunk: Buffer) => {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    buf = joined;
    for (;;) {
      const n = frameLength(buf, 0);
      if (n === undefined) break;
      const raw = buf.subarray(0, n);
      console.log(`in ${hex(raw)}`);
      const m = decodeMessage(raw, opts);
      buf = buf.slice(n);
      if (m.type === 'notification') answer(`notification ${m.code}/${m.subcode} ${hex(m.data)}`);
      if (m.type === 'open' && bad?.when === 'open') {
        sendRaw(bad.hex);
      } else if (m.type === 'open') {
        peerFourOctet = m.capabilities.some((c) => c.kind === 'four-octet-as');
        send(peerOpen(s, m.holdTime));
        opts = { fourOctetAs: peerFourOctet && s.fourOctetAs };
        send({ type: 'keepalive' });
      } else if (m.type === 'keepalive' && !established && bad) {
        established = true;
        sendRaw(bad.hex);
        setTimeout(() => {
          answer('none');
          send({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) });
          sock.end();
        }, 1000).unref();
      } else if (m.type === 'keepalive' && !established) {
        established = true;
        console.log('event established');
        const asPath = [{ type: 2 as const, asns: [s.myAs] }];
        if (s.announce4) for (const u of packUpdates(s.announce4.prefixes, { origin: 0, asPath, nextHop: s.announce4.nextHop }, opts)) send(u);
        if (s.announce6) {
          for (const u of packUpdates(s.announce6.prefixes, { origin: 0, asPath, mpReach: { afi: 2, safi: 1, nextHops: s.announce6.nextHops, nlri: [] } }, opts)) send(u);
        }
        for (const [afi, safi] of s.families) send(endOfRib(afi, safi));
      } else if (m.type === 'update') {
        const eor = endOfRibFamily(m);
        if (eor) console.log(`event eor ${eor.afi}/${eor.safi}`);
      } else if (m.type === 'notification' && !bad) {
        console.log(`event notification ${m.code}/${m.subcode}`);
      }
    }
  });
  sock.on('close', () => {
    if (bad) return answer('closed');
    console.log('event closed');
    process.exit(0);
  });
  if (bad) return;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'garbage') {
      const bad = new Uint8Array(19).fill(0xff);
      bad[3] = 0;
      bad[17] = 19;
      bad[18] = 4;
      console.log(`out ${hex(bad)}`);
      sock.write(bad);
    } else if (line === 'close') {
      send({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) });
      sock.end(() => process.exit(0));
    }
  });
}

if (process.argv[1]?.endsWith('bgp-capture-peer.ts')) main(JSON.parse(process.argv[2] ?? '{}') as PeerScript);
