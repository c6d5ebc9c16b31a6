// "May this identity do X?" as the API server's authorizer answers it (SelfSubjectAccessReview),
// for the RBAC tests: the speaker's ServiceAccount is allowed what the code uses and nothing else.
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** The authorizer's answer for the identity of `kc`. */
export async function accessAllowed(kc: KubeConfig, a: Access): Promise<boolean> {
  const r = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { ...a, group: a.group ?? '' } } },
  });
  return r.status?.allowed === true;
}

/** e.g. "update network.kubesphere.io/eips/status in default". */
export const showAccess = (a: Access): string =>
  `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ' (cluster)'}`;
