// Every flag upstream OpenELB's speaker and controller define (v0.5 / v0.6 / master: cmd/speaker,
// cmd/controller, cmd/manager options, pkg/speaker/{bgp,layer2,vip}, pkg/leader-elector,
// pkg/server/options, pkg/manager generic options, zap and klog logging flags) that openelb-ts does
// not use. They are accepted so an upstream DaemonSet's args start unchanged, and named in one
// start-up warning (ignoredFlagsWarning). Flags with a meaning here (--enable-layer2, --node-name,
// --metrics-addr, --kubeconfig) are ordinary speaker flags instead.
import type { FlagSpec } from './flags.ts';

const BGP = 'BGP runs in the speaker itself, there is no gobgp gRPC API';
const VIP = 'protocol vip (keepalived) is not served; such Eips get an UnsupportedProtocol condition';
const MEMBERLIST = 'no memberlist: liveness uses membership Leases and beacons on the served segment';
const LEADER = 'timings are --ipam-*-ms and --member-*-ms (milliseconds)';
const NO_WEBHOOK = 'there is no admission webhook: validation is in the CRD schema';
const LOGS = 'logs are JSON lines on stderr; the level is --log-level';

const u = (name: string, kind: FlagSpec['kind'], ignoredBecause: string, help: string): FlagSpec => ({ name, kind, ignoredBecause, help });

export const upstreamSpeakerFlags: FlagSpec[] = [
  u('api-hosts', 'string', BGP, 'OpenELB: hosts the gobgp API listens on'),
  u('enable-keepalived-vip', 'boolean', VIP, 'OpenELB: start keepalived-vip'),
  u('keepalived-args', 'string', VIP, 'OpenELB: keepalived arguments'),
  u('log-path', 'string', VIP, 'OpenELB: keepalived log file'),
  u('health-port', 'number', VIP, 'OpenELB: keepalived-vip health port'),
  u('configmap-name', 'string', VIP, 'OpenELB: keepalived-vip ConfigMap name'),
  u('configmap-namespace', 'string', VIP, 'OpenELB: keepalived-vip ConfigMap namespace'),
  u('bind-addr', 'string', MEMBERLIST, 'OpenELB: memberlist listen address'),
  u('bind-port', 'number', MEMBERLIST, 'OpenELB: memberlist listen port'),
  u('secret', 'string', MEMBERLIST, 'OpenELB: memberlist secret'),
  u('lease-duration', 'number', LEADER, 'OpenELB: leader election lease duration (s)'),
  u('renew-deadline', 'number', LEADER, 'OpenELB: leader election renew deadline (s)'),
  u('retry-period', 'number', LEADER, 'OpenELB: leader election retry period (s)'),
  u('leader-elect', 'boolean', 'IPAM always runs under the openelb-ipam Lease (--enable-ipam=false opts a speaker out)', 'OpenELB controller: leader election'),
  u('webhook-port', 'number', NO_WEBHOOK, 'OpenELB controller: webhook port'),
  u('readiness-addr', 'string', '/readyz is served on --metrics-addr', 'OpenELB controller: readiness probe address'),
  u('http-port', 'number', 'there is no OpenELB REST API server', 'OpenELB: HTTP API port'),
  u('zap-devel', 'boolean', LOGS, 'OpenELB: zap development mode'),
  u('zap-encoder', 'string', LOGS, 'OpenELB: zap encoder'),
  u('zap-log-level', 'string', LOGS, 'OpenELB: zap log level'),
  u('zap-stacktrace-level', 'string', LOGS, 'OpenELB: zap stacktrace level'),
  u('zap-time-encoding', 'string', LOGS, 'OpenELB: zap time encoding'),
  u('v', 'number', LOGS, 'OpenELB: klog verbosity'),
  u('vmodule', 'string', LOGS, 'OpenELB: klog per-file verbosity'),
  u('logtostderr', 'boolean', LOGS, 'OpenELB: klog to stderr'),
  u('alsologtostderr', 'boolean', LOGS, 'OpenELB: klog also to stderr'),
  u('stderrthreshold', 'string', LOGS, 'OpenELB: klog stderr threshold'),
  u('log-dir', 'string', LOGS, 'OpenELB: klog directory'),
  u('log-file', 'string', LOGS, 'OpenELB: klog file'),
  u('log-file-max-size', 'number', LOGS, 'OpenELB: klog file size limit'),
  u('log-backtrace-at', 'string', LOGS, 'OpenELB: klog backtrace location'),
  u('add-dir-header', 'boolean', LOGS, 'OpenELB: klog file directory in headers'),
  u('skip-headers', 'boolean', LOGS, 'OpenELB: klog without headers'),
  u('skip-log-headers', 'boolean', LOGS, 'OpenELB: klog without file headers'),
  u('one-output', 'boolean', LOGS, 'OpenELB: klog to one output only'),
];
