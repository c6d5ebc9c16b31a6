// Upstream OpenELB's metric names are served as aliases of ours: same values, upstream's label
// names, our extra `nic` label summed away.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { L2_METRICS } from '../../../src/l2/announcer.ts';
import { Registry } from '../../../src/observe/metrics.ts';
import { registerUpstreamAliases, UPSTREAM_METRIC_ALIASES } from '../../../src/observe/upstream-metrics.ts';

function line(text: string, series: string): number | undefined {
  const l = text.split('\n').find((x) => x.startsWith(series + ' '));
  return l === undefined ? undefined : Number(l.slice(series.length + 1));
}

test("upstream's layer 2 and Eip metric names render from our series", () => {
  const r = new Registry();
  registerUpstreamAliases(r);
  // Registered after the aliases, as the announcer and the IPAM term do at run time.
  const req = r.counter(L2_METRICS.requests, 'x');
  req.inc({ ip: '10.0.0.1', nic: 'eth0' }, 3);
  req.inc({ ip: '10.0.0.1', nic: 'eth1' }, 2);
  req.inc({ ip: '10.0.0.2', nic: 'eth0' });
  r.counter(L2_METRICS.responses, 'x').inc({ ip: '10.0.0.1', nic: 'eth0' }, 4);
  r.counter(L2_METRICS.gratuitous, 'x').inc({ ip: '10.0.0.1', nic: 'eth0' }, 5);
  r.gauge('openelb_eip_pool_size', 'x').set({ eip: 'pool' }, 16);
  r.gauge('openelb_eip_usage', 'x').set({ eip: 'pool' }, 2);
  r.gauge('openelb_eip_services', 'x').set({ eip: 'pool' }, 3);
  const text = r.render();
  assert.equal(line(text, 'requests_received{ip="10.0.0.1"}'), 5);
  assert.equal(line(text, 'requests_received{ip="10.0.0.2"}'), 1);
  assert.equal(line(text, 'responses_sent{ip="10.0.0.1"}'), 4);
  assert.equal(line(text, 'gratuitous_sent{ip="10.0.0.1"}'), 5);
  assert.equal(line(text, 'addresses_total{eipName="pool"}'), 16);
  assert.equal(line(text, 'addresses_in_use_total{eipName="pool"}'), 2);
  assert.equal(line(text, 'services_allocated_total{eipName="pool"}'), 3);
  assert.match(text, /^# TYPE requests_received counter$/m);
  assert.match(text, /^# TYPE addresses_total gauge$/m);
  // Ours are still there, unchanged.
  assert.equal(line(text, `${L2_METRICS.requests}{ip="10.0.0.1",nic="eth1"}`), 2);
  // A removed series disappears from the alias too.
  r.gauge('openelb_eip_pool_size', 'x').remove({ eip: 'pool' });
  assert.equal(line(r.render(), 'addresses_total{eipName="pool"}'), undefined);
});

test('every alias points at a metric this code base registers', () => {
  const src = ['src/speaker/ipam-controller.ts', 'src/l2/l2-metrics.ts'].map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const a of UPSTREAM_METRIC_ALIASES) assert.ok(src.includes(`'${a.ours}'`), `${a.upstream} -> ${a.ours} is registered somewhere`);
});
