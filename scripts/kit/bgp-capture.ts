// Captures what a real BGP speaker (BIRD 2) sends, and checks that it accepts what our codec sends:
// the source of the golden bytes in test/unit/bgp/fixtures.ts, kept so they can be re-captured
// (e.g. after a BIRD upgrade) and so the lab has a one-command BIRD interop check.
//
//   sudo node --import tsx scripts/kit/bgp-capture.ts [--out captures.json]
//
// For each scenario: two namespaces joined by a veth (10.255.0.1 / 2001:db8:ff::1 for BIRD,
// .2 / ::2 for us); BIRD runs with the scenario's config and connects to scripts/kit/bgp-capture-peer.ts,
// which answers with our OPEN, announces a few prefixes and End-of-RIB. Then `birdc show route`
// must list our prefixes (BIRD accepted our UPDATEs), `birdc reload in` makes BIRD send
// ROUTE-REFRESH, and a header with a broken marker must bring back NOTIFICATION 1/1. Every message
// both ways is recorded as hex. Namespaces are removed at the end, also on failure.
import { writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { Lab, type Netns, tsxArgv } from './netns.ts';
import { launchBird } from './bgp/bird.ts';
import { type PeerCase, type PeerScript, peerOpen } from './bgp-capture-peer.ts';
import { encodeMessage } from '../../src/bgp/codec/index.ts';

export interface Scenario {
  name: string;
  birdConfig: string;
  peer: Omit<PeerScript, 'port'>;
  /** Prefixes (as birdc prints them) that must show up as learned from us. */
  expectRoutes: string[];
}

const TIMERS = 'connect delay time 1; connect retry time 2; start delay time 1; error wait time 1, 2;';
const STATICS = `
protocol device {}
protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; route 198.51.100.7/32 blackhole; }
protocol static s6 { ipv6; route 2001:db8:1::/48 blackhole; }
`;

export const SCENARIOS: Scenario[] = [
  {
    name: 'ipv4-session-4octet-gr',
    birdConfig: `router id 10.255.0.1;
${STATICS}
protocol bgp cap {
  local 10.255.0.1 as 65001; neighbor 10.255.0.2 as 65002; hold time 90; ${TIMERS}
  graceful restart on;
  ipv4 { import all; export filter { bgp_med = 50; bgp_community.add((65001, 100)); accept; }; };
  ipv6 { import all; export all; next hop address 2001:db8:ff::1; };
}`,
    peer: {
      myAs: 65002,
      bgpId: '10.255.0.2',
      fourOctetAs: true,
      families: [
        [1, 1],
        [2, 1],
      ],
      announce4: { prefixes: [{ address: '203.0.113.10', length: 32 }, { address: '203.0.113.11', length: 32 }], nextHop: '10.255.0.2' },
      announce6: { prefixes: [{ address: '2001:db8:2::a', length: 128 }], nextHops: ['2001:db8:ff::2'] },
    },
    expectRoutes: ['203.0.113.10/32', '203.0.113.11/32', '2001:db8:2::a/128'],
  },
  {
    name: 'ipv6-session-link-local',
    birdConfig: `router id 10.255.0.1;
${STATICS}
protocol bgp cap {
  local 2001:db8:ff::1 as 4200000001; neighbor 2001:db8:ff::2 as 4200000002; ${TIMERS}
  ipv6 { import all; export all; };
}`,
    peer: {
      myAs: 4200000002,
      bgpId: '10.255.0.2',
      fourOctetAs: true,
      families: [[2, 1]],
      announce6: { prefixes: [{ address: '2001:db8:2::b', length: 128 }], nextHops: ['2001:db8:ff::2'] },
    },
    expectRoutes: ['2001:db8:2::b/128'],
  },
  {
    name: 'ipv4-session-2octet',
    birdConfig: `router id 10.255.0.1;
${STATICS}
protocol bgp cap {
  local 10.255.0.1 as 65001; neighbor 10.255.0.2 as 65002; enable as4 off; ${TIMERS}
  ipv4 { import all; export all; };
}`,
    peer: {
      myAs: 65002,
      bgpId: '10.255.0.2',
      fourOctetAs: false,
      families: [[1, 1]],
      announce4: { prefixes: [{ address: '203.0.113.12', length: 32 }], nextHop: '10.255.0.2' },
    },
    expectRoutes: ['203.0.113.12/32'],
  },
];

export interface Capture {
  scenario: string;
  birdConfig: string;
  birdVersion: string;
  in: string[];
  out: string[];
  routes: string;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `bird --version` prints to stderr. */
async function birdVersion(ns: Netns): Promise<string> {
  const r = await ns.exec(['bird', '--version']);
  return (r.stdout + r.stderr).trim();
}

async function runScenario(bird: Netns, us: Netns, sc: Scenario, dir: string): Promise<Capture> {
  const peer = us.spawn(tsxArgv('scripts/kit/bgp-capture-peer.ts', JSON.stringify({ ...sc.peer, port: 179 })));
  await peer.waitForLine(/^event listening/);
  const { child: daemon, birdc } = await launchBird(bird, dir, sc.birdConfig + '\n', sc.name).catch(async (err: unknown) => {
    await peer.stop(2000);
    throw err;
  });
  try {
    await peer.waitForLine(/^event established/, 20_000);
    const routes = await waitFor('BIRD to list our routes', async () => {
      const out = await birdc('show', 'route', 'protocol', 'cap', 'all');
      return sc.expectRoutes.every((r) => out.includes(r)) ? out : undefined;
    });
    await birdc('reload', 'in', 'cap');
    await waitFor('ROUTE-REFRESH', async () => (/^in f{32}0017050/m.test(peer.stdout) ? true : undefined), 5000);
    peer.write('garbage\n');
    await peer.waitForLine(/^event (notification|closed)/, 5000);
    const lines = peer.stdout.split('\n');
    return {
      scenario: sc.name,
      birdConfig: sc.birdConfig,
      birdVersion: await birdVersion(bird),
      in: lines.filter((l) => l.startsWith('in ')).map((l) => l.slice(3)),
      out: lines.filter((l) => l.startsWith('out ')).map((l) => l.slice(4)),
      routes,
    };
  } finally {
    await daemon.stop(2000);
    await peer.stop(2000);
  }
}

/** Two namespaces, `bird` (10.255.0.1, 2001:db8:ff::1) and `us` (.2, ::2), on a veth; removed when `f` ends. */
async function withBirdLab<T>(t: Parameters<typeof Lab.create>[0], f: (bird: Netns, us: Netns, dir: string) => Promise<T>): Promise<T> {
  const lab = await Lab.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'oelb-bgpcap-'));
  try {
    const bird = await lab.namespace('bird');
    const us = await lab.namespace('us');
    await lab.veth(bird, 'eth0', us, 'eth0', { addrA: ['10.255.0.1/24', '2001:db8:ff::1/64'], addrB: ['10.255.0.2/24', '2001:db8:ff::2/64'] });
    // Link-local addresses (BIRD's second IPv6 next hop) go through DAD; wait until they are usable.
    await waitFor('link-local addresses', async () => {
      const out = (await bird.ip('-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link')) + (await us.ip('-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'));
      return out.includes('fe80') && !out.includes('tentative') ? true : undefined;
    });
    return await f(bird, us, dir);
  } finally {
    await lab.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the scenarios; with a node:test context the namespaces are also removed on t.after. */
export async function captureBird(scenarios: Scenario[] = SCENARIOS, t?: Parameters<typeof Lab.create>[0]): Promise<Capture[]> {
  return withBirdLab(t, async (bird, us, dir) => {
    const out: Capture[] = [];
    for (const sc of scenarios) out.push(await runScenario(bird, us, sc, dir));
    return out;
  });
}

// ---------------------------------------------------------------- malformed messages

export interface ErrorCase extends PeerCase {
  name: string;
}

const MARKER = 'ff'.repeat(16);
const h1 = (n: number) => n.toString(16).padStart(2, '0');
const h2 = (n: number) => n.toString(16).padStart(4, '0');
const message = (type: number, body: string) => MARKER + h2(19 + body.length / 2) + h1(type) + body;
const attr = (flags: number, code: number, v: string) => h1(flags) + h1(code) + h1(v.length / 2) + v;
const update = (withdrawn: string, attrs: string, nlri: string) => message(2, h2(withdrawn.length / 2) + withdrawn + h2(attrs.length / 2) + attrs + nlri);
const openHex = Buffer.from(encodeMessage(peerOpen(SCENARIOS[0]!.peer, 90), { fourOctetAs: false })).toString('hex');
/** OUR_OPEN with the bytes at `offset` (from the start of the message) replaced. */
const patchOpen = (offset: number, bytes: string) => openHex.slice(0, offset * 2) + bytes + openHex.slice(offset * 2 + bytes.length);
const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '02010000fdea');
const NEXT_HOP = attr(0x40, 3, '0aff0002');
const NLRI = '20cb00710d';

/** Malformed messages for BIRD, each on its own connection; the codec must answer each as BIRD does. */
export const ERROR_CASES: ErrorCase[] = [
  { name: 'OPEN version 3', when: 'open', hex: patchOpen(19, '03') },
  { name: 'OPEN My AS 0', when: 'open', hex: patchOpen(20, '0000') },
  { name: 'OPEN hold time 1', when: 'open', hex: patchOpen(22, '0001') },
  { name: 'OPEN BGP identifier 0', when: 'open', hex: patchOpen(24, '00000000') },
  { name: 'OPEN optional parameter type 1', when: 'open', hex: message(1, '04fdea005a0aff0002' + '04' + '0102abcd') },
  { name: 'message type 9', when: 'established', hex: message(9, '') },
  { name: 'KEEPALIVE of 20 bytes', when: 'established', hex: message(4, '00') },
  { name: 'UPDATE unrecognized well-known attribute', when: 'established', hex: update('', ORIGIN + AS_PATH + NEXT_HOP + attr(0x40, 99, 'abcd'), NLRI) },
  { name: 'UPDATE NLRI prefix length 33', when: 'established', hex: update('', ORIGIN + AS_PATH + NEXT_HOP, '21cb00710d00') },
  { name: 'UPDATE MP_UNREACH_NLRI twice', when: 'established', hex: update('', attr(0x80, 15, '000201') + attr(0x80, 15, '000201'), '') },
  { name: 'UPDATE ORIGIN 5', when: 'established', hex: update('', attr(0x40, 1, '05') + AS_PATH + NEXT_HOP, NLRI) },
  { name: 'UPDATE without NEXT_HOP', when: 'established', hex: update('', ORIGIN + AS_PATH, NLRI) },
  { name: 'UPDATE ORIGIN with the Optional flag', when: 'established', hex: update('', attr(0xc0, 1, '00') + AS_PATH + NEXT_HOP, NLRI) },
];

export interface ErrorAnswer {
  name: string;
  hex: string;
  /** `notification C/S DATAHEX`, `none` (the session stayed up) or `closed`. */
  answer: string;
}

/** Sends BIRD every case of `cases` and returns what it answered to each. */
export async function birdAnswers(cases: ErrorCase[] = ERROR_CASES, t?: Parameters<typeof Lab.create>[0]): Promise<ErrorAnswer[]> {
  return withBirdLab(t, async (bird, us, dir) => {
    const sc = SCENARIOS[0]!;
    // Reconnect at once after each error: the cases are one connection each.
    const conf = sc.birdConfig.replace(TIMERS, 'connect delay time 1; connect retry time 1; start delay time 1; error wait time 1, 1;') + '\n';
    const peer = us.spawn(tsxArgv('scripts/kit/bgp-capture-peer.ts', JSON.stringify({ ...sc.peer, port: 179, cases })));
    await peer.waitForLine(/^event listening/);
    const { child: daemon } = await launchBird(bird, dir, conf, 'errors').catch(async (err: unknown) => {
      await peer.stop(2000);
      throw err;
    });
    try {
      await peer.waitForLine(/^event cases-done/, 15_000 + cases.length * 6000);
    } finally {
      await daemon.stop(2000);
      await peer.stop(2000);
    }
    const answers = new Map<number, string>();
    for (const m of peer.stdout.matchAll(/^event case (\d+) (.*)$/gm)) answers.set(Number(m[1]), m[2]!);
    return cases.map((c, k) => ({ name: c.name, hex: c.hex, answer: answers.get(k) ?? 'missing' }));
  });
}

if (process.argv[1]?.endsWith('bgp-capture.ts') && process.argv.includes('--errors')) {
  console.log(JSON.stringify(await birdAnswers(), null, 2));
} else if (process.argv[1]?.endsWith('bgp-capture.ts')) {
  const at = process.argv.indexOf('--out');
  const file = at > 0 ? process.argv[at + 1] : undefined;
  const caps = await captureBird();
  const text = JSON.stringify(caps, null, 2);
  if (file) writeFileSync(file, text + '\n');
  else console.log(text);
}
