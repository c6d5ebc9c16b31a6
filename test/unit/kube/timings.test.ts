import { test } from 'node:test';
import assert from 'node:assert/strict';
import { electionTimingProblems, defaultElectionTimings } from '../../../src/kube/lease-election.ts';
import {
  defaultMembershipTimings,
  formatNameList,
  membershipLeaseName,
  membershipTimingProblems,
  parseNameList,
} from '../../../src/kube/membership.ts';

test('default election and membership timings are valid', () => {
  assert.deepEqual(electionTimingProblems(defaultElectionTimings), []);
  assert.deepEqual(membershipTimingProblems(defaultMembershipTimings), []);
  assert.ok(defaultMembershipTimings.leaseDurationMs <= 2000, 'crash failover within 2 s needs detection under 2 s');
});

test('election timings: duration > renew deadline > 1.2 x retry, all positive and bounded', () => {
  assert.deepEqual(electionTimingProblems({ leaseDurationMs: 1000, renewDeadlineMs: 800, retryPeriodMs: 200 }), []);
  assert.match(electionTimingProblems({ leaseDurationMs: 800, renewDeadlineMs: 800, retryPeriodMs: 200 }).join(), /greater than renew deadline/);
  assert.match(electionTimingProblems({ leaseDurationMs: 1000, renewDeadlineMs: 240, retryPeriodMs: 200 }).join(), /1.2 x retry/);
  assert.match(electionTimingProblems({ leaseDurationMs: 1000, renewDeadlineMs: 800, retryPeriodMs: 0 }).join(), /positive/);
  assert.match(electionTimingProblems({ leaseDurationMs: NaN, renewDeadlineMs: 800, retryPeriodMs: 100 }).join(), /positive/);
  assert.match(electionTimingProblems({ leaseDurationMs: 1000, renewDeadlineMs: 800, retryPeriodMs: 5 }).join(), /below 10/);
  assert.match(electionTimingProblems({ leaseDurationMs: 4e6, renewDeadlineMs: 800, retryPeriodMs: 100 }).join(), /over 1 h/);
});

test('membership timings: two renewals must fit in a duration', () => {
  assert.deepEqual(membershipTimingProblems({ leaseDurationMs: 1000, retryPeriodMs: 500 }), []);
  assert.match(membershipTimingProblems({ leaseDurationMs: 1000, retryPeriodMs: 501 }).join(), /at most half/);
  assert.match(membershipTimingProblems({ leaseDurationMs: -1, retryPeriodMs: 100 }).join(), /positive/);
});

test('cannot-serve list: canonical text, tolerant parse', () => {
  assert.equal(formatNameList(['eipB', 'eipA', 'eipB', '']), 'eipA,eipB');
  assert.equal(formatNameList([]), '');
  assert.deepEqual([...parseNameList(' eipA, ,eipB ')], ['eipA', 'eipB']);
  assert.deepEqual([...parseNameList(undefined)], []);
  assert.equal(membershipLeaseName('node-1'), 'openelb-speaker-node-1');
});
