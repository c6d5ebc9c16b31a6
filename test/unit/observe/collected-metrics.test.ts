// Collected metrics: series read from their owner's state at each scrape (the announcer's
// per-address series, the speaker's owned IPs), never stored in the registry. They render like
// stored ones, follow the owner's state from one scrape to the next, feed upstream's aliases, and
// vanish when their source is removed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { L2_METRICS } from '../../../src/l2/announcer.ts';
import { Registry } from '../../../src/observe/metrics.ts';
import { registerUpstreamAliases } from '../../../src/observe/upstream-metrics.ts';

/** Value of `series` (name and labels as rendered) in an exposition text, undefined if absent. */
function line(text: string, series: string): number | undefined {
  const values = new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
  return values.get(series);
}

test("a collected metric renders its source's state at each scrape, sorted labels, and upstream's alias sums it", () => {
  const r = new Registry();
  registerUpstreamAliases(r);
  const counts = new Map<string, number>([['10.0.0.1', 3]]);
  const stop = r.collected(L2_METRICS.requests, 'requests', 'counter', function* () {
    for (const [ip, n] of counts) yield [{ nic: 'eth0', ip }, n];
  });
  let text = r.render();
  assert.match(text, /^# TYPE openelb_l2_requests_received_total counter$/m);
  assert.equal(line(text, `${L2_METRICS.requests}{ip="10.0.0.1",nic="eth0"}`), 3);
  assert.equal(line(text, 'requests_received{ip="10.0.0.1"}'), 3);

  counts.set('10.0.0.1', 7);
  counts.set('10.0.0.2', 1);
  text = r.render();
  assert.equal(line(text, `${L2_METRICS.requests}{ip="10.0.0.1",nic="eth0"}`), 7);
  assert.equal(line(text, `${L2_METRICS.requests}{ip="10.0.0.2",nic="eth0"}`), 1);
  assert.equal(line(text, 'requests_received{ip="10.0.0.2"}'), 1);

  counts.delete('10.0.0.1'); // the owner forgot the address: its series is gone
  text = r.render();
  assert.equal(line(text, `${L2_METRICS.requests}{ip="10.0.0.1",nic="eth0"}`), undefined);
  assert.equal(line(text, 'requests_received{ip="10.0.0.1"}'), undefined);

  stop();
  assert.doesNotMatch(r.render(), /ip="10\.0\.0\.2"/);
});

test('two sources under one name both publish; a stored metric of that name is refused', () => {
  const r = new Registry();
  const stopA = r.collected('x_owned', 'h', 'gauge', () => [[{ ip: 'a' }, 1]]);
  r.collected('x_owned', 'h', 'gauge', () => [[{ ip: 'b' }, 1]]);
  assert.equal(line(r.render(), 'x_owned{ip="a"}'), 1);
  assert.equal(line(r.render(), 'x_owned{ip="b"}'), 1);
  stopA();
  assert.equal(line(r.render(), 'x_owned{ip="a"}'), undefined);
  assert.equal(line(r.render(), 'x_owned{ip="b"}'), 1);
  r.counter('y_total', 'h');
  assert.throws(() => r.collected('y_total', 'h', 'counter', () => []), /already registered as a stored counter/);
});
