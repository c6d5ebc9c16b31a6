// HTTP to the API server on Node's built-in http/https (Deno runs them too), with ONE keep-alive
// agent per client: every request and watch of a speaker shares its TLS context and its pooled
// connections, instead of a client per API group each with its own (what client-node's generated
// classes cost: issue 12, BENCHMARKS.md "memory").
//
// Credentials still come from client-node's KubeConfig (kubeconfig files, merged KUBECONFIG lists,
// in-cluster service account, exec and token-file plugins): that part is subtle and well tested
// upstream, and it is small once bundled. We ask it for the TLS material once, and for the
// Authorization header before each request, so rotated service-account tokens (re-read every
// 60 s by its token-file plugin) and exec credentials keep working.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError } from './api-error.ts';

export interface RequestOptions {
  /** Deadline for the whole request (headers and body). */
  timeoutMs?: number;
  /** Aborts the request (e.g. a leadership term ending); combined with the deadline. */
  signal?: AbortSignal;
}

export interface HttpRequest extends RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with query, e.g. `/api/v1/services?limit=500`. */
  path: string;
  body?: unknown;
  contentType?: string;
}

type AuthOptions = { headers?: Record<string, string>; ca?: Buffer; cert?: Buffer | string; key?: Buffer | string; servername?: string; rejectUnauthorized?: boolean; auth?: string };

/** The reason an AbortSignal.timeout() gives: errors.ts classifies it as 'timeout'. */
const timeoutReason = (ms: number) => new DOMException(`no answer within ${ms} ms`, 'TimeoutError');

export class Transport {
  readonly server: URL;
  private readonly kc: KubeConfig;
  private readonly userAgent: string;
  private agent: http.Agent | undefined;
  private basicAuth: string | undefined;

  constructor(kc: KubeConfig, userAgent: string) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set current-context, or pass --kubeconfig');
    if (cluster.proxyUrl) {
      throw new Error(
        `kubeconfig cluster ${cluster.name} sets proxy-url ${cluster.proxyUrl}: openelb-ts connects to the API server directly; remove proxy-url`,
      );
    }
    this.server = new URL(cluster.server);
    if (this.server.protocol === 'http:' && !cluster.skipTLSVerify) {
      throw new Error(`kubeconfig cluster ${cluster.name}: plain http (${cluster.server}) needs insecure-skip-tls-verify: true`);
    }
    this.kc = kc;
    this.userAgent = userAgent;
  }

  /** The shared agent, made on first use from the kubeconfig's TLS material. */
  private async agentFor(): Promise<http.Agent> {
    if (this.agent) return this.agent;
    const o: AuthOptions = {};
    await this.kc.applyToHTTPSOptions(o as never);
    if (o.auth) this.basicAuth = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    const common = { keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 4 };
    this.agent =
      this.server.protocol === 'http:'
        ? new http.Agent(common)
        : new https.Agent({
            ...common,
            ...(o.ca ? { ca: o.ca } : {}),
            ...(o.cert ? { cert: o.cert } : {}),
            ...(o.key ? { key: o.key } : {}),
            ...(o.servername ? { servername: o.servername } : {}),
            ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
          });
    return this.agent;
  }

  /** Authorization (and impersonation) headers, fresh for each request. */
  private async authHeaders(): Promise<Record<string, string>> {
    const o: AuthOptions = { headers: {} };
    // KubeConfig's header-only step is private in its typings; without it we take the public
    // one, which also re-reads the CA and key files.
    const kc = this.kc as unknown as { applyAuthorizationHeader?: (o: AuthOptions) => Promise<void> };
    if (typeof kc.applyAuthorizationHeader === 'function') await kc.applyAuthorizationHeader(o);
    else await this.kc.applyToHTTPSOptions(o as never);
    const h = { ...(o.headers ?? {}) };
    if (this.basicAuth && !h.Authorization) h.Authorization = this.basicAuth;
    return h;
  }

  /**
   * Send a request and resolve with the response once its headers arrived (the body still
   * streams). `deadlineCoversBody` false leaves the body unbounded (watches). Non-2xx answers
   * reject with ApiError, after reading their (small) body.
   */
  async open(req: HttpRequest, deadlineCoversBody = true): Promise<{ res: http.IncomingMessage; done: () => void; signal: AbortSignal }> {
    const agent = await this.agentFor();
    const headers: Record<string, string> = { ...(await this.authHeaders()), 'User-Agent': this.userAgent, Accept: 'application/json' };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const url = new URL(req.path, this.server);
    const mod = url.protocol === 'http:' ? http : https;
    const what = `${req.method} ${url.pathname}`;

    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => ac.abort(req.signal?.reason ?? new Error('aborted'));
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      req.signal?.removeEventListener('abort', onAbort);
    };
    if (req.signal?.aborted) throw req.signal.reason ?? new Error('aborted');
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.timeoutMs !== undefined) {
      const ms = Math.max(1, Math.ceil(req.timeoutMs));
      timer = setTimeout(() => ac.abort(timeoutReason(ms)), ms);
    }

    return new Promise((resolve, reject) => {
      const r = mod.request(url, { method: req.method, headers, agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          if (!deadlineCoversBody) cleanup();
          resolve({ res, done: cleanup, signal: ac.signal });
          return;
        }
        readText(res, ac.signal)
          .then((text) => reject(new ApiError(status, text, what)))
          .catch(reject)
          .finally(cleanup);
      });
      const abort = () => r.destroy(ac.signal.reason as Error);
      ac.signal.addEventListener('abort', abort, { once: true });
      r.on('close', () => ac.signal.removeEventListener('abort', abort));
      r.on('error', (err) => {
        cleanup();
        reject(err);
      });
      r.end(payload);
    });
  }

  /** A JSON request: resolves with the parsed answer. */
  async json<T>(req: HttpRequest): Promise<T> {
    const { res, done, signal } = await this.open(req);
    try {
      const text = await readText(res, signal);
      return (text ? JSON.parse(text) : undefined) as T;
    } finally {
      done();
    }
  }

  /** Close pooled connections (tests, shutdown). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/** The whole body as text; a cut-off body rejects with the abort reason (e.g. our deadline). */
export function readText(res: http.IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const fail = (err: unknown) => reject(signal.aborted ? signal.reason : err);
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', fail);
    res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
  });
}
