// A scripted BGP peer for the lab's fault tests: it speaks just enough BGP to get a session
// established (OPEN with multiprotocol IPv4 and 4-octet AS, KEEPALIVEs), then on command sends
// what a broken or hostile router might: a bad marker, a bad length, an unknown type, an UPDATE
// whose attributes overrun it, or a flood of valid UPDATEs. Its bytes are built here by hand, not
// by src/bgp/codec, so a codec bug cannot hide on both ends. Runs inside a namespace (the lab
// spawns it with `ip netns exec`); listens on --port (default 179) and serves one session at a
// time, accepting the next one after a close (the far end reconnecting is how recovery is seen).
//
//   --as N --id A.B.C.D [--port 179] [--hold 9]
// stdin, one command a line: garbage-marker | bad-length | bad-type | malformed-update |
//   flood <updates> <prefixes-per-update> | close
// stdout: `listening`, `established <n>` (n-th session), `notification <code> <subcode>` (received),
//   `update <nlri> <withdrawn>` (received, one line per UPDATE), `flooded <updates> <ms>`, `closed`.
import { createServer, type Socket } from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`bgp-rogue-peer: --${name} is required`);
  return v;
}

const MY_AS = Number(arg('as'));
const MY_ID = arg('id');
const PORT = Number(arg('port', '179'));
const HOLD = Number(arg('hold', '9'));

const MARKER = new Uint8Array(16).fill(0xff);
const ipBytes = (ip: string) => ip.split('.').map(Number);

/** One BGP message: marker, length, type, body. */
export function message(type: number, body: number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.set(MARKER);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, 19);
  return out;
}

function open(): Uint8Array {
  const as2 = MY_AS > 0xffff ? 23456 : MY_AS;
  // Capabilities: multiprotocol IPv4 unicast (1,4: 0,1,0,1), 4-octet AS (65,4: AS).
  const caps = [1, 4, 0, 1, 0, 1, 65, 4, (MY_AS >>> 24) & 0xff, (MY_AS >>> 16) & 0xff, (MY_AS >>> 8) & 0xff, MY_AS & 0xff];
  const params = [2, caps.length, ...caps];
  return message(1, [4, as2 >> 8, as2 & 0xff, HOLD >> 8, HOLD & 0xff, ...ipBytes(MY_ID), params.length, ...params]);
}

const keepalive = () => message(4, []);

/** UPDATE announcing prefixes (/32s) with ORIGIN IGP, AS_PATH [MY_AS], NEXT_HOP nextHop. */
function update(prefixes: string[], nextHop: string, fourOctet: boolean): Uint8Array {
  const asn = fourOctet ? [(MY_AS >>> 24) & 0xff, (MY_AS >>> 16) & 0xff, (MY_AS >>> 8) & 0xff, MY_AS & 0xff] : [(MY_AS >> 8) & 0xff, MY_AS & 0xff];
  const attrs = [
    0x40, 1, 1, 0, // ORIGIN IGP
    0x40, 2, 2 + asn.length, 2, 1, ...asn, // AS_PATH: one AS_SEQUENCE of one AS
    0x40, 3, 4, ...ipBytes(nextHop), // NEXT_HOP
  ];
  const nlri = prefixes.flatMap((p) => [32, ...ipBytes(p)]);
  return message(2, [0, 0, attrs.length >> 8, attrs.length & 0xff, ...attrs, ...nlri]);
}

/** Capability codes in an OPEN body (optional parameters of type 2, RFC 5492). */
function capabilityCodes(body: Buffer): number[] {
  const codes: number[] = [];
  const end = Math.min(body.length, 10 + (body[9] ?? 0));
  for (let i = 10; i + 2 <= end; ) {
    const [type, len] = [body[i]!, body[i + 1]!];
    if (type === 2) for (let j = i + 2; j + 2 <= i + 2 + len; j += 2 + body[j + 1]!) codes.push(body[j]!);
    i += 2 + len;
  }
  return codes;
}

let sessions = 0;
let current: { sock: Socket; fourOctet: boolean; established: boolean } | undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);

function serve(sock: Socket): void {
  if (current) {
    sock.destroy();
    return;
  }
  const s = { sock, fourOctet: false, established: false };
  current = s;
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  sock.write(open());
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 19) {
      const len = buf.readUInt16BE(16);
      if (len < 19 || buf.length < len) break;
      const type = buf[18];
      const body = buf.subarray(19, len);
      buf = buf.subarray(len);
      if (type === 1) {
        // Their OPEN: 4-octet AS when they offer capability 65 too.
        s.fourOctet = capabilityCodes(body).includes(65);
        sock.write(keepalive());
      } else if (type === 4 && !s.established) {
        s.established = true;
        sessions++;
        say(`established ${sessions}`);
        timer = setInterval(() => sock.write(keepalive()), Math.max(1, HOLD / 3) * 1000);
      } else if (type === 3) {
        say(`notification ${body[0]} ${body[1]}`);
      } else if (type === 2) {
        const wl = body.readUInt16BE(0);
        const al = body.readUInt16BE(2 + wl);
        const nlriBytes = body.length - 4 - wl - al;
        say(`update ${nlriBytes > 0 ? 'nlri' : 'none'} ${wl > 0 ? 'withdrawn' : 'none'}`);
      }
    }
  });
  const done = () => {
    if (timer) clearInterval(timer);
    if (current === s) {
      current = undefined;
      say('closed');
    }
  };
  sock.on('close', done);
  sock.on('error', done);
}

async function flood(updates: number, perUpdate: number): Promise<void> {
  const s = current;
  if (!s?.established) throw new Error('no established session');
  const t0 = performance.now();
  const nextHop = s.sock.localAddress?.replace(/^::ffff:/, '') ?? MY_ID;
  for (let u = 0; u < updates; u++) {
    const prefixes = Array.from({ length: perUpdate }, (_, i) => {
      const n = u * perUpdate + i;
      return `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`;
    });
    // Respect backpressure: a flood that only fills our own buffer tests nothing.
    if (!s.sock.write(update(prefixes, nextHop, s.fourOctet))) await new Promise((r) => s.sock.once('drain', r));
  }
  say(`flooded ${updates} ${Math.round(performance.now() - t0)}`);
}

function command(line: string): void {
  const [cmd, ...args] = line.trim().split(/\s+/);
  const sock = current?.sock;
  if (!cmd) return;
  if (!sock) {
    say(`error no session for ${cmd}`);
    return;
  }
  switch (cmd) {
    case 'garbage-marker': {
      const m = keepalive();
      m[3] = 0; // RFC 4271 §6.1: marker not all ones -> NOTIFICATION 1/1
      sock.write(m);
      return;
    }
    case 'bad-length': {
      const m = keepalive();
      m[17] = 18; // length below 19 -> 1/2
      sock.write(m);
      return;
    }
    case 'bad-type':
      sock.write(message(9, [])); // no such type -> 1/3
      return;
    case 'malformed-update':
      // Total path attribute length 200 in a 4-byte body: the attributes overrun the message (3/1).
      sock.write(message(2, [0, 0, 0, 200]));
      return;
    case 'flood':
      flood(Number(args[0] ?? 1000), Number(args[1] ?? 100)).catch((err: Error) => say(`error ${err.message}`));
      return;
    case 'close':
      sock.end(message(3, [6, 2])); // Cease / Administrative Shutdown
      return;
    default:
      say(`error unknown command ${cmd}`);
  }
}

const server = createServer(serve);
server.listen(PORT, '0.0.0.0', () => say('listening'));
server.on('error', (err) => {
  process.stderr.write(`bgp-rogue-peer: ${String(err)}\n`);
  process.exit(1);
});
createInterface({ input: process.stdin }).on('line', command).on('close', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
