import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/observe/metrics.ts';
import { parseListenAddress, serveObservability } from '../../../src/observe/http.ts';
import { registerProcessMetrics } from '../../../src/observe/process-metrics.ts';

test('counters and gauges render in Prometheus text format with sorted, escaped labels', () => {
  const r = new Registry();
  const c = r.counter('openelb_arp_requests_total', 'ARP requests received');
  c.inc({ ip: '10.0.0.1', nic: 'eth0' });
  c.inc({ nic: 'eth0', ip: '10.0.0.1' }, 2);
  r.gauge('openelb_leader', 'IPAM leader').set({ node: 'a"b' }, 1);
  const text = r.render();
  assert.match(text, /# TYPE openelb_arp_requests_total counter/);
  assert.match(text, /openelb_arp_requests_total\{ip="10.0.0.1",nic="eth0"\} 3/);
  assert.match(text, /openelb_leader\{node="a\\"b"\} 1/);
  assert.equal(c.get({ ip: '10.0.0.1', nic: 'eth0' }), 3);
});

test('removeMatching drops only the series of that label value', () => {
  const r = new Registry();
  const c = r.counter('x_total', 'x');
  c.inc({ ip: '10.0.0.1', kind: 'a' });
  c.inc({ ip: '10.0.0.2', kind: 'a' });
  c.removeMatching({ ip: '10.0.0.1' });
  assert.equal(c.get({ ip: '10.0.0.1', kind: 'a' }), 0);
  assert.equal(c.get({ ip: '10.0.0.2', kind: 'a' }), 1);
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress(':7472'), { host: undefined, port: 7472 });
  assert.deepEqual(parseListenAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseListenAddress('[::1]:9'), { host: '::1', port: 9 });
  assert.throws(() => parseListenAddress('7472'), /use HOST:PORT/);
});

test('the HTTP server answers /metrics, /healthz and a failing /readyz on loopback', async () => {
  const r = new Registry();
  r.counter('hits_total', 'h').inc();
  const server = await serveObservability('127.0.0.1:0', r, {
    healthy: () => ({ ok: true, detail: 'loops turning' }),
    ready: () => ({ ok: false, detail: 'caches not synced' }),
  });
  try {
    const port = (server.address() as { port: number }).port;
    const m = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /hits_total 1/);
    const h = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(h.status, 200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /caches not synced/);
  } finally {
    server.close();
  }
});

test('process metrics: active event-loop resources by type, read at scrape time', () => {
  const r = new Registry();
  const unregister = registerProcessMetrics(r);
  const timeouts = (): number => Number(/^nodejs_active_resources\{type="Timeout"\} (\d+)$/m.exec(r.render())?.[1] ?? 0);
  const before = timeouts();
  const timers = [setTimeout(() => undefined, 60_000), setTimeout(() => undefined, 60_000), setTimeout(() => undefined, 60_000)];
  try {
    assert.equal(timeouts(), before + 3);
  } finally {
    for (const t of timers) clearTimeout(t);
  }
  assert.equal(timeouts(), before, 'cleared timers are gone again');
  unregister();
});
