// Builders for IPAM unit tests (plain data, defaults that match the seeds).
import type { EipInput } from '../../../src/ipam/pool.ts';
import type { ServiceRequest } from '../../../src/ipam/service-request.ts';

let clock = Date.parse('2024-01-01T00:00:00Z');
/** A strictly increasing creationTimestamp, so "created later" is the call order. */
export function later(): string {
  clock += 1000;
  return new Date(clock).toISOString().replace('.000Z', 'Z');
}

export function eip(name: string, address: string, extra: Partial<EipInput['spec']> = {}, meta: Partial<Omit<EipInput, 'spec'>> = {}): EipInput {
  return { name, creationTimestamp: later(), ...meta, spec: { address, protocol: 'layer2', interface: 'eth0', ...extra } };
}

export function defaultEip(name: string, address: string, extra: Partial<EipInput['spec']> = {}): EipInput {
  return eip(name, address, extra, { annotations: { 'eip.openelb.kubesphere.io/is-default-eip': 'true' } });
}

export function svc(key: string, extra: Partial<ServiceRequest> = {}, annotations: Record<string, string> = {}): ServiceRequest {
  const [namespace] = key.split('/');
  return {
    key,
    namespace: namespace as string,
    creationTimestamp: later(),
    type: 'LoadBalancer',
    annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb', ...annotations },
    ports: [{ port: 80, protocol: 'TCP' }],
    externalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    assigned: [],
    ...extra,
  };
}

export const EIP = 'eip.openelb.kubesphere.io/v1alpha2';
export const IPANN = 'eip.openelb.kubesphere.io/v1alpha1';
