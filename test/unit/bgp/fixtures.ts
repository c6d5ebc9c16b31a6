// Golden bytes: messages BIRD 2.0.12 (Debian bookworm's bird2) sent to our codec's peer, captured
// with scripts/kit/bgp-capture.ts (its SCENARIOS hold the full BIRD configs). Re-capture with
//   sudo node --import tsx scripts/kit/bgp-capture.ts --out /tmp/captures.json
// BIRD also accepted what our encoder sent in the same runs (`birdc show route` listed our
// prefixes with our attributes); those bytes are here too, marked OURS.
//
// Scenario ipv4-session-4octet-gr: BIRD AS 65001 at 10.255.0.1, us AS 65002 at 10.255.0.2, IPv4
// session, hold time 90, `graceful restart on`, ipv4 channel exporting with bgp_med = 50 and
// community (65001,100), ipv6 channel with `next hop address 2001:db8:ff::1`; static routes
// 192.0.2.0/24, 198.51.100.7/32, 2001:db8:1::/48.
// Scenario ipv6-session-link-local: AS 4200000001 at 2001:db8:ff::1 to AS 4200000002 at ::2, ipv6 only.
// Scenario ipv4-session-2octet: as the first, with `enable as4 off`, ipv4 only, no MED/community.

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

export const BIRD = {
  /** OPEN: AS 65001, hold 90, id 10.255.0.1; MP v4+v6, route refresh, GR 120 s (v4, v6), 4-octet AS 65001, enhanced RR (70), LLGR (71). */
  open4octetGr: hex('ffffffffffffffffffffffffffffffff00430104fde9005a0aff00012602240104000100010104000200010200400a0078000101000002010041040000fde946004700'),
  keepalive: hex('ffffffffffffffffffffffffffffffff001304'),
  /** UPDATE: ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP 10.255.0.1, MED 50, COMMUNITIES 65001:100; NLRI 198.51.100.7/32, 192.0.2.0/24. */
  updateV4: hex('ffffffffffffffffffffffffffffffff004202000000224001010040020602010000fde94003040aff000180040400000032c00804fde9006418c0000220c6336407'),
  /** End-of-RIB IPv4 unicast: the empty UPDATE. */
  eorV4: hex('ffffffffffffffffffffffffffffffff00170200000000'),
  /** UPDATE: MP_REACH_NLRI (Extended Length flag on a 44-byte value) AFI 2, next hops 2001:db8:ff::1 + link-local, NLRI 2001:db8:1::/48; ORIGIN, AS_PATH [65001]. */
  updateV6: hex('ffffffffffffffffffffffffffffffff0054020000003d900e002c0002012020010db800ff00000000000000000001fe80000000000000dc1b76fffe68f717003020010db800014001010040020602010000fde9'),
  /** End-of-RIB IPv6 unicast: MP_UNREACH_NLRI AFI 2 SAFI 1 with no prefixes. */
  eorV6: hex('ffffffffffffffffffffffffffffffff001d0200000006800f03000201'),
  /** ROUTE-REFRESH IPv4 unicast and IPv6 unicast (`birdc reload in`). */
  routeRefreshV4: hex('ffffffffffffffffffffffffffffffff00170500010001'),
  routeRefreshV6: hex('ffffffffffffffffffffffffffffffff00170500020001'),
  /** NOTIFICATION 1/1 (connection not synchronized), BIRD's answer to a header with a broken marker. */
  notificationBadMarker: hex('ffffffffffffffffffffffffffffffff0015030101'),
  /** OPEN: My AS AS_TRANS, hold 240, MP v6, route refresh, GR aware (120 s, no families), 4-octet AS 4200000001, 70, 71. */
  openAsTrans: hex('ffffffffffffffffffffffffffffffff003501045ba000f00aff00011802160104000200010200400200784104fa56ea0146004700'),
  /** UPDATE over the IPv6 session: MP_REACH with 32-byte next hop, AS_PATH [4200000001]. */
  updateV6As4: hex('ffffffffffffffffffffffffffffffff0054020000003d900e002c0002012020010db800ff00000000000000000001fe80000000000000dc1b76fffe68f717003020010db80001400101004002060201fa56ea01'),
  /** OPEN without four-octet AS (`enable as4 off`): AS 65001, hold 240, MP v4, route refresh, GR aware, 70, 71. */
  open2octet: hex('ffffffffffffffffffffffffffffffff002f0104fde900f00aff000112021001040001000102004002007846004700'),
  /** UPDATE with a 2-octet AS_PATH [65001]; NLRI 198.51.100.7/32, 192.0.2.0/24. */
  updateV4TwoOctet: hex('ffffffffffffffffffffffffffffffff00320200000012400101004002040201fde94003040aff000118c0000220c6336407'),
};

/** What our encoder sent in the same runs, and BIRD accepted (routes installed, no NOTIFICATION). */
export const OURS = {
  /** OPEN AS 65002, hold 90, id 10.255.0.2: MP v4, MP v6, route refresh, 4-octet AS 65002. */
  open: hex('ffffffffffffffffffffffffffffffff00330104fdea005a0aff0002160214010400010001010400020001020041040000fdea'),
  /** UPDATE: ORIGIN IGP, AS_PATH [65002], NEXT_HOP 10.255.0.2; NLRI 203.0.113.10/32, 203.0.113.11/32. */
  updateV4: hex('ffffffffffffffffffffffffffffffff003502000000144001010040020602010000fdea4003040aff000220cb00710a20cb00710b'),
  /** UPDATE: MP_REACH AFI 2 next hop 2001:db8:ff::2, NLRI 2001:db8:2::a/128; ORIGIN, AS_PATH [65002]. */
  updateV6: hex('ffffffffffffffffffffffffffffffff004d0200000036800e260002011020010db800ff00000000000000000002008020010db800020000000000000000000a4001010040020602010000fdea'),
  /** OPEN AS_TRANS, hold 240 (BIRD's), MP v6, route refresh, 4-octet AS 4200000002. */
  openAsTrans: hex('ffffffffffffffffffffffffffffffff002d01045ba000f00aff000210020e01040002000102004104fa56ea02'),
  /** UPDATE with a 2-octet AS_PATH [65002]; NLRI 203.0.113.12/32. */
  updateV4TwoOctet: hex('ffffffffffffffffffffffffffffffff002e0200000012400101004002040201fdea4003040aff000220cb00710c'),
};
