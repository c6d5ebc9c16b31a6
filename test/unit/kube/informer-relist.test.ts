// The informer's 410 Gone handling. The real kube-apiserver of the cluster tier answers a stale
// resourceVersion from its watch cache or etcd as long as it can, so "too old" cannot be
// provoked there in a test's lifetime (tried: etcd compaction plus resourceVersion 1 still
// resumed). Here a loopback HTTP server plays the API server's part of the protocol, scripted:
// a LIST, then a watch that answers 410 (as an ERROR event, and as an HTTP status), then the
// LIST that must follow. The informer and the REST layer under test are the real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Service } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';

const svc = (name: string, rv: string): V1Service => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

async function scriptedApi(handle: (url: URL, res: ServerResponse, req: IncomingMessage) => void) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${url.searchParams.get('watch') ? 'WATCH' : 'LIST'} rv=${url.searchParams.get('resourceVersion') ?? ''}`);
    handle(url, res, req);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const client = new KubeClient(kc);
  return {
    client,
    requests,
    close: () => {
      client.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

const list = (res: ServerResponse, rv: string, items: V1Service[]) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: rv }, items }));
};

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(cond(), what);
}

for (const how of ['an ERROR event with code 410', 'HTTP 410 on the watch request'] as const) {
  test(`a watch answered with ${how} makes the informer relist and resume from the new list`, async (t) => {
    let lists = 0;
    const api = await scriptedApi((url, res) => {
      if (!url.searchParams.get('watch')) {
        lists++;
        return lists === 1 ? list(res, '10', [svc('a', '5'), svc('b', '6')]) : list(res, '20', [svc('b', '6'), svc('c', '19')]);
      }
      if (url.searchParams.get('resourceVersion') === '10') {
        if (how === 'HTTP 410 on the watch request') {
          res.writeHead(410, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (15)' }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (15)' } }) + '\n');
        return;
      }
      // After the relist: a healthy, quiet watch.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Service', metadata: { resourceVersion: '21' } } }) + '\n');
    });
    t.after(() => api.close());
    const inf = new Informer<V1Service>({ client: api.client, path: '/api/v1/services', backoff: { initialMs: 10, maxMs: 20, factor: 2, jitter: 0 } });
    t.after(() => inf.stop());
    const events: string[] = [];
    inf.onEvent((ev, o) => events.push(`${ev} ${o.metadata?.name}`));
    inf.start();
    await until(() => inf.lastResourceVersion === '21', `resumed after the relist (requests: ${api.requests.join(', ')})`);
    assert.deepEqual(inf.list().map((s) => s.metadata?.name).sort(), ['b', 'c'], 'the cache is the second list');
    assert.deepEqual(events, ['add a', 'add b', 'add c', 'delete a'], 'b unchanged (same resourceVersion), c added, a deleted');
    assert.deepEqual(api.requests.slice(0, 4), ['LIST rv=', 'WATCH rv=10', 'LIST rv=', 'WATCH rv=20']);
    assert.equal(inf.status().lists, 2);
    assert.equal(inf.status().failures, 0, 'a 410 is not a failure to back off from');
  });
}
