// Tests, the lab and the benchmarks drive the API server as an admin would, through
// client-node's generated API classes: convenient for creating Services, Namespaces and
// EndpointSlices. The speaker itself does not load them (src/kube/client.ts); this subclass adds
// them for the tools only, with the same deadline and User-Agent.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  Observable,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { KubeClient, type KubeClientOptions } from '../../src/kube/client.ts';

/**
 * Middleware that gives a request a deadline. The client-wide one (`override` false) runs first
 * and leaves a signal alone; a per-call one (deadlineOptions) runs after it and replaces it.
 */
function deadlineMiddleware(ms: number, override = false): ObservableMiddleware {
  // AbortSignal.timeout() throws on a fractional delay.
  ms = Math.max(1, Math.ceil(ms));
  return {
    pre(ctx: RequestContext) {
      if (override || !ctx.getSignal()) ctx.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(ctx));
    },
    post(res: ResponseContext) {
      return new Observable(Promise.resolve(res));
    },
  };
}

function headerMiddleware(key: string, value: string): ObservableMiddleware {
  return {
    pre(ctx: RequestContext) {
      ctx.setHeaderParam(key, value);
      return new Observable(Promise.resolve(ctx));
    },
    post(res: ResponseContext) {
      return new Observable(Promise.resolve(res));
    },
  };
}

/** Per-call options that turn a client-node `patch*` call into a JSON merge patch (RFC 7386). */
export function mergePatchOptions(): ConfigurationOptions<ObservableMiddleware> {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

/** Per-call options with a deadline of our choosing. */
export function deadlineOptions(
  ms: number,
  base?: ConfigurationOptions<ObservableMiddleware>,
): ConfigurationOptions<ObservableMiddleware> {
  return {
    ...base,
    middleware: [...(base?.middleware ?? []), deadlineMiddleware(ms, true)],
    middlewareMergeStrategy: 'append',
  };
}

type ApiCtor<T> = new (config: ReturnType<typeof createConfiguration>) => T;

export class TypedKubeClient extends KubeClient {
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly custom: CustomObjectsApi;
  private readonly typedOpts: KubeClientOptions;

  constructor(kc: KubeConfig, opts: KubeClientOptions = {}) {
    super(kc, opts);
    this.typedOpts = opts;
    this.core = this.make(CoreV1Api);
    this.coordination = this.make(CoordinationV1Api);
    this.discovery = this.make(DiscoveryV1Api);
    this.custom = this.make(CustomObjectsApi);
  }

  static override fromFile(path: string, opts: KubeClientOptions = {}): TypedKubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new TypedKubeClient(kc, opts);
  }

  /** Build any other client-node API class with the same deadline and User-Agent. */
  make<T>(ctor: ApiCtor<T>): T {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const config = createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: this.kc },
      middleware: [
        headerMiddleware('User-Agent', this.typedOpts.userAgent ?? 'openelb-ts-tools'),
        deadlineMiddleware(this.typedOpts.requestTimeoutMs ?? this.requestTimeoutMs),
      ],
    });
    return new ctor(config);
  }
}
