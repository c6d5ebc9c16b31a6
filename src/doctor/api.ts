// Can this node reach the API server, and is the Eip CRD there for us to read? Pure verdicts
// over what the CLI observed; src/kube/errors.ts classifies the failures.
import type { ApiErrorKind } from '../kube/errors.ts';
import { type CheckResult, cannotTell, failed, passed } from './result.ts';

export const CHECK_API = 'api';
export const CHECK_EIPS = 'eips';

export type ApiFact =
  | { kind: 'offline' } // --offline
  | { kind: 'no-credentials'; message: string; standalone: boolean }
  | { kind: 'bad-kubeconfig'; message: string }
  | { kind: 'reached'; server: string; source: string; version?: string }
  | { kind: 'failed'; server: string; source: string; error: ApiErrorKind; message: string };

export function checkApi(f: ApiFact): CheckResult {
  switch (f.kind) {
    case 'offline':
      return cannotTell(CHECK_API, 'not contacted (--offline): only this node was checked');
    case 'no-credentials':
      if (f.standalone) return cannotTell(CHECK_API, `not contacted: ${f.message}; checked only the pool given by --address`);
      return failed(
        CHECK_API,
        f.message,
        'in the speaker pod the ServiceAccount is used automatically; elsewhere pass --kubeconfig, or check a pool without the API with --interface/--address',
      );
    case 'bad-kubeconfig':
      return failed(CHECK_API, `cannot load the kubeconfig: ${f.message}`, 'pass a valid --kubeconfig (or KUBECONFIG)');
    case 'reached':
      return passed(CHECK_API, `API server ${f.server} answered${f.version ? ` (${f.version})` : ''}, credentials from ${f.source}`);
    case 'failed': {
      const where = `API server ${f.server} (credentials from ${f.source})`;
      if (f.error === 'unauthorized') {
        return failed(CHECK_API, `${where} refused the credentials (401): ${f.message}`, 'renew the token or certificate in the kubeconfig; in a pod, check the ServiceAccount token mount');
      }
      if (f.error === 'network' || f.error === 'timeout') {
        return failed(
          CHECK_API,
          `${where} is unreachable: ${f.message}`,
          'check that the API server runs and that this node can reach the server address in the kubeconfig (firewall, proxy, DNS); the speaker keeps announcing what it owns meanwhile (fail-static) but assigns nothing new',
        );
      }
      return failed(CHECK_API, `${where} failed: ${f.message}`, 'check the API server logs and the kubeconfig');
    }
  }
}

export type EipListFact =
  | { kind: 'skipped' }
  | { kind: 'listed'; total: number; layer2: number }
  | { kind: 'failed'; error: ApiErrorKind; message: string };

export function checkEips(f: EipListFact): CheckResult | undefined {
  switch (f.kind) {
    case 'skipped':
      return undefined;
    case 'listed':
      if (f.layer2 === 0) {
        return cannotTell(
          CHECK_EIPS,
          `${f.total} Eip${f.total === 1 ? '' : 's'}, none with spec.protocol: layer2: no pool to check on this node`,
          'create an Eip with spec.protocol: layer2 (README quick start, step 3)',
        );
      }
      return passed(CHECK_EIPS, `${f.layer2} layer2 Eip${f.layer2 === 1 ? '' : 's'} of ${f.total} to check on this node`);
    case 'failed':
      if (f.error === 'notFound') {
        return failed(CHECK_EIPS, 'the Eip CRD (eips.network.kubesphere.io) is not installed', 'kubectl apply -f deploy/openelb.yaml');
      }
      if (f.error === 'forbidden') {
        return failed(CHECK_EIPS, `not allowed to list Eips: ${f.message}`, 'apply deploy/openelb.yaml (ClusterRole openelb-speaker) or use a kubeconfig that may list eips.network.kubesphere.io');
      }
      return failed(CHECK_EIPS, `listing Eips failed: ${f.message}`, 'check the API server');
  }
}
