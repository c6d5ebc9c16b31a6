// `npm run build`: bundles the CLI (src/cli/main.ts and everything it imports, including
// @kubernetes/client-node and ip-address) into ES modules, dist/openelb-ts.mjs plus shared
// chunks in dist/chunks/, so the runtime image needs neither tsx nor the 65 MB client-node
// package tree: only Node and koffi. Code splitting keeps each subcommand's imports lazy (main.ts
// loads them with import()): `announce` never loads client-node, which saves ~70 MiB of RSS
// (BENCHMARKS.md, L2 responder RSS).
//
// koffi stays external: it loads a prebuilt native addon (@koromix/koffi-<platform>) from its
// package directory at run time, which a bundle cannot carry. esbuild comes with tsx (a dev
// dependency), so building needs `npm ci` with dev dependencies; running needs only
// `node dist/openelb-ts.mjs` next to node_modules/koffi.
//
// client-node is used for KubeConfig only (credentials; src/kube/client.ts imports it from
// dist/config.js). That module still imports what its other methods need: the generated API
// configuration (and through it ObjectSerializer and every model class), undici, and the proxy
// agents. The speaker never calls those methods (makeApiClient, applySecurityAuthentication,
// proxy-url agents: src/kube/rest/transport.ts refuses proxy-url with a clear message), so the
// bundle gets small stubs in their place that throw if ever called. That keeps ~900 KiB of
// JavaScript, and its heap, out of every speaker (issue 12, BENCHMARKS.md memory).
//
// Usage: npx tsx scripts/build.ts [--outdir DIR]
import { type Plugin, build } from 'esbuild';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHEBANG } from '../src/cli/runtime-flags.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]!) : join(root, 'dist');
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, 'openelb-ts.mjs');

const STUBS: Record<string, string> = {
  './gen/index.js': 'export function createConfiguration() { no("KubeConfig.makeApiClient"); } export class ServerConfiguration { constructor() { no("KubeConfig.makeApiClient"); } }',
  './middleware.js': 'export function setHeaderMiddleware() { no("KubeConfig.makeApiClient"); }',
  undici: 'export class Agent { constructor() { no("undici"); } } export class ProxyAgent { constructor() { no("undici"); } }',
  'socks-proxy-agent': 'export class SocksProxyAgent { constructor() { no("proxy-url"); } }',
  socks: 'export const SocksClient = { createConnection() { no("proxy-url"); } };',
  hpagent: 'export class HttpProxyAgent { constructor() { no("proxy-url"); } } export class HttpsProxyAgent { constructor() { no("proxy-url"); } }',
};
const NO = 'function no(what) { throw new Error(`${what} is not part of the openelb-ts bundle (it talks to the API server through its own REST layer)`); }\n';

/** Replaces what client-node's config.js imports but the speaker never uses (see the header). */
const kubeConfigOnly: Plugin = {
  name: 'kubeconfig-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!/@kubernetes[\\/]client-node[\\/]dist[\\/]config\.js$/.test(args.importer)) return undefined;
      if (!(args.path in STUBS)) return undefined;
      return { path: args.path, namespace: 'kubeconfig-stub' };
    });
    b.onLoad({ filter: /.*/, namespace: 'kubeconfig-stub' }, (args) => ({ contents: NO + STUBS[args.path], loader: 'js' }));
  },
};

await build({
  plugins: [kubeConfigOnly],
  entryPoints: { 'openelb-ts': join(root, 'src/cli/main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  minify: true,
  // Error classification and logs read constructor/function names; keep them.
  keepNames: true,
  legalComments: 'linked',
  sourcemap: false,
  // Bundled CommonJS dependencies call require() for node: built-ins; an ES module has none.
  // The shebang makes the file itself the `openelb-ts` command (the image links it into PATH), with
  // the memory settings that must be there from the process's start (src/cli/runtime-flags.ts).
  banner: {
    js: SHEBANG + "\nimport { createRequire as __oelbRequire } from 'node:module'; const require = __oelbRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
console.log(`wrote ${outfile} (${(statSync(outfile).size / 1024).toFixed(0)} KiB)`);
