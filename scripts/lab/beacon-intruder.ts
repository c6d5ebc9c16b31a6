// A host on the LAN without the cluster key, trying to keep a dead speaker alive (lab tests):
//   beacon-intruder.ts IFNAME VICTIM_MAC
// Captures the victim's beacons for as long as it runs; on the stdin line "attack" it starts
// sending, every 100 ms and from the victim's MAC: (1) every captured beacon again, verbatim
// (replays), (2) the newest captured beacon with its sequence number and time bumped past
// anything real (a forgery without the key: the tag no longer matches), and (3) a beacon in the
// victim's name signed with a key of its own. Prints JSON lines: {"event":"ready"}, then
// {"event":"captured","n":N} on "attack", and {"event":"sent","n":N} every second.
import process from 'node:process';
import { createInterface } from 'node:readline';
import { PacketSocket } from '../../native-bindings/packet-socket.ts';
import * as beacon from '../../src/l2/beacon.ts';
import { ETHERTYPE_BEACON, beaconFrame, beaconGroupMac } from '../../src/l2/beacon.ts';
import { beaconKey, signBeacon } from '../../src/l2/beacon-auth.ts';
import { formatMac, parseMac } from '../../src/l2/mac.ts';

const [ifname, victimText] = process.argv.slice(2);
const victim = parseMac(victimText ?? '');
if (!ifname || !victim) {
  process.stderr.write('usage: beacon-intruder.ts IFNAME VICTIM_MAC\n');
  process.exit(2);
}
const out = (o: Record<string, unknown>) => void process.stdout.write(JSON.stringify(o) + '\n');
const sock = PacketSocket.open({ ifname, ethertype: ETHERTYPE_BEACON });
sock.addMembership(beaconGroupMac());
const captured: Uint8Array[] = [];
sock.onFrame((f) => {
  if (formatMac(f.data, 6) === formatMac(victim) && captured.length < 10_000) captured.push(f.data.slice());
});
out({ event: 'ready' });

function bump(frame: Uint8Array, by: number): Uint8Array {
  const f = frame.slice();
  const p = f.subarray(14);
  const seq = (((p[20]! << 24) | (p[21]! << 16) | (p[22]! << 8) | p[23]!) >>> 0) + by;
  p[20] = (seq >>> 24) & 0xff;
  p[21] = (seq >>> 16) & 0xff;
  p[22] = (seq >>> 8) & 0xff;
  p[23] = seq & 0xff;
  return f;
}

const ownKey = beaconKey(new TextEncoder().encode('the intruder does not know the key'));
let sent = 0;
let round = 0;
function attack(): void {
  const last = captured.at(-1);
  if (!last) return;
  const d = beacon.decode(last, 14);
  round++;
  // (1) replays: a slice of the captures per round, cycling
  for (let i = 0; i < 5; i++) {
    const f = captured[(round * 5 + i) % captured.length]!;
    if (sock.send(f)) sent++;
  }
  // (2) forged: bumped sequence, old tag
  if (sock.send(bump(last, 1000 + round))) sent++;
  // (3) signed with a wrong key
  if (d.ok) {
    const b = d.value;
    const payload = signBeacon({ ...b, seq: b.seq + 1000 + round, sentAtMs: Date.now() }, ownKey, victim!);
    if (sock.send(beaconFrame(victim!, payload))) sent++;
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'attack') return;
  out({ event: 'captured', n: captured.length });
  setInterval(attack, 100);
  setInterval(() => out({ event: 'sent', n: sent }), 1000);
});
process.on('SIGTERM', () => {
  sock.close();
  process.exit(0);
});
