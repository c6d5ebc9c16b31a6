// `npm run demo` (as root): the OpenELB Layer 2 walkthrough (seeds/000 and 001) on one machine.
//
// The topology is scripts/lab/lab.ts's SeedLab: a client (i-f3fozos0) and three nodes (master1,
// worker-p001, worker-p002, with the walkthrough's IPs and MACs) in network namespaces on one
// bridge, the real kube-apiserver, one `openelb-ts speaker` per node, HTTP backends answering
// "You've hit <pod name>" and a kube-proxy stand-in per node. This script applies the
// walkthrough's own YAML with kubectl, prints the views of its Step 6 as a shell transcript,
// checks each one against what the walkthrough shows, then stops the announcing node's speaker
// and shows the IP move to another node. Exit 0 only if every view matched; everything it
// created (namespaces, processes, API objects, a private control plane) is removed on the way
// out, on failure and on Ctrl-C too.
//
// `npm run demo -- --image`: the same walkthrough with every speaker in the image `npm run image`
// builds (cached), run per node as the DaemonSet's pod from deploy/openelb.yaml (podman + runc, the
// node's network namespace, the pod's securityContext, env and in-cluster ServiceAccount), and
// doctor at the end as that pod's command.
import process from 'node:process';
import { SeedLab, SEED, LAB_LABEL, type LabNode, type LabService } from '../lab/lab.ts';
import { ensureBinaries } from '../control-plane/lib.ts';
import { APT_LINE, missingTools } from '../image/prerequisites.ts';
import { CONTAINER_TOOLS } from '../image/podman.ts';
import { BgpLab, BGP_POOL } from '../lab/bgp-lab.ts';
import { BirdRouter, birdConfig } from '../kit/bgp/bird.ts';
import { fibNextHops } from '../kit/bgp/fib.ts';
import { missingRouterTools } from '../kit/bgp/tools.ts';
import { DOCS_BGPCONF, DOCS_BGPPEER, DOCS_EIP } from '../lab/openelb-bgp-docs.ts';

/** --image: speakers as the DaemonSet's pods in the built image. */
const IMAGE = process.argv.includes('--image');
/** --bgp: OpenELB's BGP walkthrough (scripts/demo/demo.ts runBgp) with BIRD on i-f3fozos0. */
const BGP = process.argv.includes('--bgp');

// --- the walkthrough's YAML (seeds/000 steps 3-5; the Service as in 000, with the legacy
// protocol annotation, which openelb-ts accepts and ignores) --------------------------------
const EIP_YAML = `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: layer2-eip
spec:
  address: 192.168.0.91-192.168.0.100
  interface: eth0
  protocol: layer2
`;
const DEPLOYMENT_YAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: layer2-openelb
spec:
  replicas: 2
  selector:
    matchLabels:
      app: layer2-openelb
  template:
    metadata:
      labels:
        app: layer2-openelb
    spec:
      containers:
        - image: luksa/kubia
          name: kubia
          ports:
            - containerPort: 8080
`;
const SERVICE_YAML = `kind: Service
apiVersion: v1
metadata:
  name: layer2-svc
  annotations:
    lb.kubesphere.io/v1alpha1: openelb
    protocol.openelb.kubesphere.io/v1alpha1: layer2
    eip.openelb.kubesphere.io/v1alpha2: layer2-eip
spec:
  selector:
    app: layer2-openelb
  type: LoadBalancer
  ports:
    - name: http
      port: 80
      targetPort: 8080
  externalTrafficPolicy: Cluster
`;
/** What the walkthrough shows for the first Service of a fresh pool. */
const SEED_VIP = '192.168.0.91';

// --- output -------------------------------------------------------------------------------
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(s + '\n');
const step = (s: string) => say(`\n${bold(`==> ${s}`)}`);
const prompt = (host: string, cmd: string) => say(`${bold(`root@${host}:~#`)} ${cmd}`);
const failures: string[] = [];
function expect(ok: boolean, what: string): void {
  say(`    ${ok ? 'ok' : 'MISMATCH'}: ${what}`);
  if (!ok) failures.push(what);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run demo needs root: it creates network namespaces, veth pairs and raw sockets (try: sudo npm run demo)\n');
    return 1;
  }
  if (IMAGE && BGP) {
    process.stderr.write('npm run demo: --image and --bgp are separate walkthroughs; pick one\n');
    return 1;
  }
  const missing = [...missingTools(['ip', 'arping', 'ping', 'curl', ...(IMAGE ? CONTAINER_TOOLS : [])]), ...(BGP ? missingRouterTools() : [])];
  if (missing.length) {
    process.stderr.write(`npm run demo${IMAGE ? ' -- --image' : BGP ? ' -- --bgp' : ''} needs ${missing.map((t) => `\`${t}\``).join(', ')} (Debian/Ubuntu, as root: ${APT_LINE})\n`);
    return 1;
  }

  step('Control plane: kube-apiserver + etcd on loopback (the first run builds them from Go modules; cached afterwards)');
  ensureBinaries((line) => say(`    ${line}`));

  if (BGP) return finish(await runBgpDemo());

  step('Lab: a client and three nodes on one Layer 2 segment (seed 000\'s devices)');
  let lab: SeedLab | undefined;
  const stop = async () => {
    if (!lab) return;
    const l = lab;
    lab = undefined;
    say('\n==> Cleaning up: speakers, namespaces, API objects' + (l.cp?.private ? ', the private control plane' : ''));
    await l.cp?.kubectl(['delete', 'deployment', 'layer2-openelb', '-n', l.namespace, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    await l.teardown();
    await l.cp?.stop();
  };
  try {
    lab = IMAGE
      ? await SeedLab.create({ log: (line) => say(`    ${line}`), runtime: 'image' })
      : await SeedLab.create({ log: (line) => say(`    ${line}`), speakerArgs: ['--enable-layer2=true'] });
    say('');
    say('    Device Name | IP Address  | MAC Address       | Description');
    for (const [n, d] of lab.nodes.map((n, i) => [n, i === 0 ? 'Kubernetes cluster master' : `Kubernetes cluster worker ${i}`] as const)) {
      say(`    ${n.name.padEnd(11)} | ${n.spec.ip4.padEnd(11)} | ${n.mac} | ${d}`);
    }
    say(`    ${SEED.client.name.padEnd(11)} | ${SEED.client.ip4.padEnd(11)} | ${SEED.client.mac} | Client machine`);
    await run(lab);
  } finally {
    await stop();
  }
  return finish(0);
}

/** The verdict over every expect() (code: a failure before any view). */
function finish(code: number): number {
  say('');
  if (failures.length) {
    say(bold(`demo: ${failures.length} view(s) differ from the walkthrough:`));
    for (const f of failures) say(`  - ${f}`);
    return 1;
  }
  if (code !== 0) return code;
  say(bold('demo: every view matches the walkthrough'));
  return 0;
}

/** Shell-quotes an argument for the transcript (what a person would type). */
const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

async function kubectl(lab: SeedLab, args: string[], opts: { input?: string; show?: string } = {}): Promise<string> {
  prompt('master1', opts.show ?? `kubectl ${args.map(q).join(' ')}`);
  const r = await lab.cp.kubectl(args, opts.input !== undefined ? { input: opts.input } : {});
  const out = (r.stdout + r.stderr).trimEnd();
  if (out) say(out);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function onClient(lab: SeedLab, argv: string[]): Promise<string> {
  prompt(SEED.client.name, argv.join(' '));
  const r = await lab.client.exec(argv, { timeoutMs: 15_000 });
  const out = (r.stdout + r.stderr).trimEnd();
  if (out) say(out);
  return r.stdout;
}

/** ReplicaSet-style pod names, like the walkthrough's layer2-openelb-7b4fdf6f85-mnw5k. */
function podNames(deployment = 'layer2-openelb'): [string, string] {
  const alnum = 'bcdfghjklmnpqrstvwxz2456789';
  const pick = (n: number, set: string) => Array.from({ length: n }, () => set[Math.floor(Math.random() * set.length)]).join('');
  const rs = pick(10, '0123456789abcdef');
  return [`${deployment}-${rs}-${pick(5, alnum)}`, `${deployment}-${rs}-${pick(5, alnum)}`];
}

/** The node the speakers' election picks for ip, and that the client's ARP request reaches. */
async function announcer(lab: SeedLab, ip: string, not?: LabNode, timeoutMs = 15_000): Promise<LabNode> {
  const deadline = Date.now() + timeoutMs;
  let seen: LabNode | undefined;
  while (Date.now() < deadline) {
    seen = lab.nodeByMac(await lab.arping(ip, 1));
    const expected = (await lab.expectedOwners()).get(ip)?.node;
    if (seen && seen !== not && seen.name === expected) return seen;
    await sleep(200);
  }
  throw new Error(`no node answers ARP for ${ip} as the election says (last answer: ${seen?.name ?? 'none'})\n${lab.logs(15)}`);
}

/**
 * The walkthroughs' Deployment and Service steps (`<prefix>-openelb.yaml`, `<prefix>-svc.yaml`,
 * steps `first` and `first + 1`): applied with kubectl, the two pods run by the lab on worker-p001
 * and worker-p002, and the Service's IP awaited.
 */
async function deployAndExpose(lab: SeedLab, prefix: 'layer2' | 'bgp', first: number, vip: string): Promise<{ svc: LabService; ip: string; podA: string; podB: string }> {
  const ns = lab.namespace;
  const deployment = DEPLOYMENT_YAML.replace(/layer2/g, prefix);
  const service = SERVICE_YAML.replace(/layer2/g, prefix);
  step(`Step ${first}: create the Deployment (${prefix}-openelb.yaml)`);
  say(deployment.trimEnd().replace(/^/gm, '    '));
  await kubectl(lab, ['apply', '-n', ns, '-f', '-'], { input: deployment, show: `kubectl apply -n ${ns} -f ${prefix}-openelb.yaml` });
  const [podA, podB] = podNames(`${prefix}-openelb`);
  say(`    (no kubelet here: the lab runs the two pods as HTTP servers answering "You've hit <pod name>",`);
  say(`     ${podA} on worker-p001 and ${podB} on worker-p002, as in the walkthrough's kubectl get pod -o wide)`);

  step(`Step ${first + 1}: create the Service (${prefix}-svc.yaml)`);
  say(service.trimEnd().replace(/^/gm, '    '));
  await kubectl(lab, ['apply', '-n', ns, '-f', '-'], { input: service, show: `kubectl apply -n ${ns} -f ${prefix}-svc.yaml` });
  const name = `${prefix}-svc`;
  await lab.cp.kubectl(['label', 'svc', name, '-n', ns, `${LAB_LABEL}=${lab.id}`, '--overwrite']);
  const svc: LabService = { name, namespace: ns, key: `${ns}/${name}`, port: 80, policy: 'Cluster', family: 'IPv4', ip: '', pods: [] };
  lab.services.set(svc.name, svc);
  await lab.setPods(svc, [
    { node: 'worker-p001', name: podA },
    { node: 'worker-p002', name: podB },
  ]);
  const ip = await lab.waitForIp(svc, 30_000);
  if (ip !== vip) say(`    (the walkthrough shows ${vip}; this run got ${ip})`);
  return { svc, ip, podA, podB };
}

/** `kubectl get svc`: the Service is a LoadBalancer with the walkthrough's EXTERNAL-IP. */
async function checkGetSvc(lab: SeedLab, svc: LabService, vip: string): Promise<void> {
  const out = await kubectl(lab, ['get', 'svc', '-n', lab.namespace]);
  const row = out.split('\n').find((l) => l.startsWith(`${svc.name} `))?.trim().split(/\s+/) ?? [];
  expect(row[1] === 'LoadBalancer' && row[3] === vip && /^80:\d+\/TCP$/.test(row[4] ?? ''), `kubectl get svc: ${svc.name} LoadBalancer EXTERNAL-IP ${vip} PORT(S) 80:<nodePort>/TCP (got ${row.slice(1, 5).join(' ')})`);
}

async function run(lab: SeedLab): Promise<void> {
  const ns = lab.namespace;

  if (lab.image) {
    step(`Step 1: the speakers: the DaemonSet's pod (deploy/openelb.yaml) in image ${lab.image.image.ref} on each node, as a kubelet runs it`);
    await lab.startSpeakers();
    const first = lab.nodes[0]!;
    prompt(first.name, first.containerArgv.map(q).join(' '));
    say(`    (the same on ${lab.nodes.slice(1).map((n) => n.name).join(' and ')}; uid 0 with only NET_RAW, read-only root, no privilege escalation,`);
    say(`     NODE_NAME from spec.nodeName, a TokenRequest token + ca.crt at /var/run/secrets/kubernetes.io/serviceaccount)`);
    for (const n of lab.nodes) say(`    ${n.name}: container ${n.container} ready`);
  } else {
    step('Step 1: the speakers, one per node, with --enable-layer2=true (the DaemonSet\'s args)');
    await lab.startSpeakers();
    for (const n of lab.nodes) {
      const argv = lab.speakerArgv(n);
      const from = argv.indexOf('speaker');
      say(`    ${n.name}: openelb-ts ${argv.slice(from).filter((a) => !a.includes('kubeconfig') && !a.endsWith('.yaml') && !a.endsWith('.kubeconfig')).join(' ')} (ready)`);
    }
  }

  step('Step 2: strictARP: every node has arp_ignore=1, arp_announce=2 and its Service IPs on the NOARP kube-ipvs0');
  for (const n of lab.nodes) {
    const r = await n.netns.exec(['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce']);
    const [ig, an] = r.stdout.trim().split(/\s+/);
    expect(ig === '1' && an === '2', `${n.name}: arp_ignore=${ig} arp_announce=${an}`);
  }

  step('Step 3: create the Eip object (layer2-eip.yaml)');
  say(EIP_YAML.trimEnd().replace(/^/gm, '    '));
  await kubectl(lab, ['apply', '-f', '-'], { input: EIP_YAML, show: 'kubectl apply -f layer2-eip.yaml' });
  // Labelled so the lab's teardown (and a later run's leftover sweep) removes it.
  await lab.cp.kubectl(['label', 'eip', 'layer2-eip', `${LAB_LABEL}=${lab.id}`, '--overwrite']);

  const { svc, ip, podA, podB } = await deployAndExpose(lab, 'layer2', 4, SEED_VIP);
  step('Step 6: verify');
  await checkGetSvc(lab, svc, SEED_VIP);

  let eipRow: string[] = [];
  for (let i = 0; i < 50; i++) {
    const r = await lab.cp.kubectl(['get', 'eip', 'layer2-eip', '--no-headers']);
    eipRow = r.stdout.trim().split(/\s+/);
    if (eipRow[2] === '1') break;
    await sleep(200);
  }
  await kubectl(lab, ['get', 'eip']);
  expect(eipRow[0] === 'layer2-eip' && eipRow[1] === '192.168.0.91-192.168.0.100' && eipRow[2] === '1' && eipRow[3] === '10', `kubectl get eip: layer2-eip 192.168.0.91-192.168.0.100 USAGE 1 TOTAL 10 (got ${eipRow.join(' ')})`);

  const first = await announcer(lab, ip);
  await lab.forget(ip);
  const ping = await onClient(lab, ['ping', ip, '-c', '4']);
  expect(/4 packets transmitted, 4 received, 0% packet loss/.test(ping), `ping ${ip} -c 4: 4 received, 0% loss`);
  const neigh = await onClient(lab, ['ip', 'neigh']);
  const entry = neigh.split('\n').find((l) => l.startsWith(`${ip} `)) ?? '';
  expect(entry.includes(`lladdr ${first.mac}`), `ip neigh: ${ip} lladdr ${first.mac}, the MAC of ${first.name} ${first.spec.ip4}, the node the election chose`);
  say(`    The MAC of ${ip} is that of ${first.name} (${first.spec.ip4}): openelb-ts mapped the Service IP to ${first.name}.`);
  const one = await lab.arpingAll(ip);
  expect(one.length === 1 && one[0] === first.mac, `exactly one node answers one ARP request (answers: ${one.join(', ') || 'none'})`);

  let annotation: string | undefined;
  for (let i = 0; i < 50 && annotation !== `${first.name}/eth0`; i++) {
    annotation = await lab.announcerAnnotation(svc);
    if (annotation !== `${first.name}/eth0`) await sleep(100);
  }
  await kubectl(lab, ['get', 'svc', 'layer2-svc', '-n', ns, '-o', 'jsonpath={.metadata.annotations.layer2\\.openelb\\.kubesphere\\.io/announcer}{"\\n"}']);
  expect(annotation === `${first.name}/eth0`, `the Service names its announcer: ${first.name}/eth0`);

  say('\n    externalTrafficPolicy: Cluster: both pods can be reached');
  const cluster: string[] = [];
  for (let i = 0; i < 4; i++) cluster.push((await onClient(lab, ['curl', '-s', '--max-time', '3', ip])).trim());
  expect(new Set(cluster).size === 2 && cluster.every((b) => b === `You've hit ${podA}` || b === `You've hit ${podB}`), `curl answers come from both pods (${[...new Set(cluster)].join(' / ')})`);

  say('\n    externalTrafficPolicy: Local: only the pod on the node selected by openelb-ts can be reached');
  await kubectl(lab, ['patch', 'svc', 'layer2-svc', '-n', ns, '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
  svc.policy = 'Local';
  await lab.setPods(svc, svc.pods.map((p) => ({ node: p.node, name: p.name }))); // reprograms the kube-proxy stand-ins
  const local = await announcer(lab, ip);
  expect(local.name === 'worker-p001' || local.name === 'worker-p002', `Local: the announcing node has a pod (${local.name})`);
  await lab.forget(ip);
  const localPod = local.name === 'worker-p001' ? podA : podB;
  const localAnswers: string[] = [];
  for (let i = 0; i < 3; i++) localAnswers.push((await onClient(lab, ['curl', '-s', '--max-time', '3', ip])).trim());
  expect(localAnswers.every((b) => b === `You've hit ${localPod}`), `Local: every answer from ${localPod} on ${local.name}`);

  step(`Failover: stop the speaker on ${local.name} (SIGTERM, as a rolling update does)`);
  const t0 = performance.now();
  const stopped = await local.stopSpeaker();
  const next = await announcer(lab, ip, local);
  const ms = performance.now() - t0;
  say(`    ${local.name}'s speaker exited (${stopped.code}); ${next.name} answers ARP for ${ip} ${Math.round(ms)} ms after the stop began`);
  expect(next !== local && (next.name === 'worker-p001' || next.name === 'worker-p002'), `the IP moved from ${local.name} to ${next.name}, the other node with a pod`);
  await lab.forget(ip);
  await onClient(lab, ['ping', ip, '-c', '2']);
  const after = await onClient(lab, ['ip', 'neigh', 'show', ip]);
  expect(after.includes(`lladdr ${next.mac}`), `ip neigh: ${ip} now at ${next.mac} (${next.name})`);
  const moved = (await onClient(lab, ['curl', '-s', '--max-time', '3', ip])).trim();
  const nextPod = next.name === 'worker-p001' ? podA : podB;
  expect(moved === `You've hit ${nextPod}`, `curl after failover: You've hit ${nextPod}`);

  step(`Troubleshooting view: openelb-ts doctor on ${next.name} (through its path to the API server)`);
  let doc: { code: number | null; stdout: string; stderr: string };
  if (lab.image) {
    prompt(next.name, `podman run <the pod's flags, as in step 1> ${lab.image.image.ref} doctor`);
    doc = await lab.image.runOnce({ name: next.name, ip4: next.spec.ip4, netns: next.netns.name }, { args: ['doctor'] });
  } else {
    prompt(next.name, 'openelb-ts doctor');
    doc = await next.netns.exec(
      [...lab.speakerArgv(next).slice(0, lab.speakerArgv(next).indexOf('speaker')), 'doctor', '--node-name', next.name, '--kubeconfig', lab.cp.speakerKubeconfig],
      { timeoutMs: 60_000, env: { KUBECONFIG: '' } },
    );
  }
  say((doc.stdout + doc.stderr).trimEnd());
  expect(doc.code === 0, `doctor on ${next.name} finds no problem (exit ${doc.code})`);
}

// --- npm run demo -- --bgp: "Use OpenELB in BGP Mode" (openelb/website, getting-started/usage) ----
// The walkthrough's devices: master1, worker-p001, worker-p002 and i-f3fozos0, "the BIRD machine",
// which here is the seed's client namespace: BIRD 2 runs there (scripts/kit/bgp/bird.ts, by hand,
// no systemd) with one neighbor per node, as the walkthrough's note says for several nodes, and
// curl runs there too. Its YAML applies verbatim; Step 7's views are checked.
// The docs' BgpConf, BgpPeer and Eip, verbatim (the cluster and lab tests apply the same ones).
const BGPCONF_YAML = DOCS_BGPCONF;
const BGPPEER_YAML = DOCS_BGPPEER;
const BGP_EIP_YAML = DOCS_EIP;
// The walkthrough's Deployment and Service differ from the Layer 2 ones only in the names and the
// protocol (deployAndExpose derives them).
const BGP_VIP = '172.22.0.2';

async function runBgpDemo(): Promise<number> {
  step('Lab: three nodes and the BIRD machine on one network (the walkthrough\'s devices)');
  let lab: BgpLab | undefined;
  try {
    lab = await BgpLab.create({ routers: ['bird'], birdOnClient: true, seed: { log: (line) => say(`    ${line}`) } });
    say('');
    say('    Device Name | IP Address  | Description');
    for (const [n, d] of lab.seed.nodes.map((n, i) => [n, i === 0 ? 'Kubernetes cluster master, where OpenELB is installed' : `Kubernetes cluster worker ${i}`] as const)) {
      say(`    ${n.name.padEnd(11)} | ${n.spec.ip4.padEnd(11)} | ${d}`);
    }
    say(`    ${SEED.client.name.padEnd(11)} | ${SEED.client.ip4.padEnd(11)} | BIRD machine, where BIRD simulates a BGP router`);
    await bgpWalkthrough(lab);
    return 0;
  } finally {
    if (lab) {
      say('\n==> Cleaning up: BIRD, speakers, namespaces, API objects' + (lab.seed.cp?.private ? ', the private control plane' : ''));
      await lab.seed.cp?.kubectl(['delete', 'deployment', 'bgp-openelb', '-n', lab.seed.namespace, '--ignore-not-found', '--wait=false']).catch(() => undefined);
      await lab.teardown();
      await lab.seed.cp?.stop();
    }
  }
}

function birdSocket(bgp: BgpLab): string {
  const r = bgp.router('bird').router;
  if (!(r instanceof BirdRouter)) throw new Error('the BGP demo\'s router is BIRD');
  return r.socket;
}

async function bgpWalkthrough(bgp: BgpLab): Promise<void> {
  const lab = bgp.seed;
  const ns = lab.namespace;
  const bird = bgp.router('bird');

  step('Step 1: BIRD on i-f3fozos0 (BIRD 2 syntax; one neighbor per node; merge paths on for ECMP)');
  prompt(SEED.client.name, 'cat /etc/bird/bird.conf   # (the lab keeps it in a temp dir)');
  say(birdConfig(bird.router.spec).trimEnd().replace(/^/gm, '    '));
  await onClient(lab, ['birdc', '-s', birdSocket(bgp), 'show', 'status']);

  step('The speakers, one per node (the DaemonSet\'s args; BGP is on by default and idle until configured)');
  await lab.startSpeakers();
  for (const n of lab.nodes) say(`    ${n.name}: openelb-ts speaker --node-name ${n.name} (ready)`);

  step('Step 2: create the BgpConf object (bgp-conf.yaml)');
  say(BGPCONF_YAML.trimEnd().replace(/^/gm, '    '));
  await kubectl(lab, ['apply', '-f', '-'], { input: BGPCONF_YAML, show: 'kubectl apply -f bgp-conf.yaml' });
  bgp.track('bgpconfs', 'default');

  step('Step 3: create the BgpPeer object (bgp-peer.yaml)');
  say(BGPPEER_YAML.trimEnd().replace(/^/gm, '    '));
  await kubectl(lab, ['apply', '-f', '-'], { input: BGPPEER_YAML, show: 'kubectl apply -f bgp-peer.yaml' });
  bgp.track('bgppeers', 'bgp-peer');

  step('Step 4: create the Eip object (bgp-eip.yaml)');
  say(BGP_EIP_YAML.trimEnd().replace(/^/gm, '    '));
  await kubectl(lab, ['apply', '-f', '-'], { input: BGP_EIP_YAML, show: 'kubectl apply -f bgp-eip.yaml' });
  await lab.cp.kubectl(['label', 'eip', BGP_POOL.name, `${LAB_LABEL}=${lab.id}`, '--overwrite']);

  const { svc, ip, podA, podB } = await deployAndExpose(lab, 'bgp', 5, BGP_VIP);
  step('Step 7: verify');
  await checkGetSvc(lab, svc, BGP_VIP);
  await kubectl(lab, ['get', 'nodes', '-o', 'custom-columns=NAME:.metadata.name,INTERNAL-IP:.status.addresses[0].address']);

  const all = bgp.nodeIps(lab.nodes.map((n) => n.name));
  const hops = async (want: string[], what: string) => {
    let got: string[] = [];
    const ms = await bgp.waitForFib('bird', ip, lab.nodes.filter((n) => want.includes(n.spec.ip4)).map((n) => n.name), 30_000).catch(async () => {
      got = await fibNextHops(bird.ns, `${ip}/32`);
      return -1;
    });
    await onClient(lab, ['ip', 'route']);
    expect(ms >= 0, `${what}: ${ip} has next hops ${want.join(', ')}${ms < 0 ? ` (got ${got.join(', ') || 'none'})` : ''}`);
  };
  say('\n    externalTrafficPolicy: Cluster: every node is a next hop');
  await hops(all, 'ip route on the BIRD machine');
  await onClient(lab, ['birdc', '-s', birdSocket(bgp), 'show', 'protocols']);
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) answers.push((await onClient(lab, ['curl', '-s', '--max-time', '3', ip])).trim());
  expect(answers.every((b) => b === `You've hit ${podA}` || b === `You've hit ${podB}`), `curl ${ip}: You've hit <one of the two pods> (${[...new Set(answers)].join(' / ')})`);
  await kubectl(lab, ['get', 'bgppeer', 'bgp-peer', '-o', 'jsonpath={range .status.nodesPeerStatus.*}{.peerState.neighborAddress} {.peerState.sessionState} {.timersState.uptime}{"\\n"}{end}']);

  say('\n    externalTrafficPolicy: Local: only the nodes with a pod are next hops');
  await kubectl(lab, ['patch', 'svc', 'bgp-svc', '-n', ns, '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
  svc.policy = 'Local';
  await lab.setPods(svc, svc.pods.map((p) => ({ node: p.node, name: p.name })));
  await hops(bgp.nodeIps(['worker-p001', 'worker-p002']), 'Local: ip route');
  const local = (await onClient(lab, ['curl', '-s', '--max-time', '3', ip])).trim();
  expect(local === `You've hit ${podA}` || local === `You've hit ${podB}`, `Local: curl ${ip} reaches a pod`);

  step('A rolling update: stop the speaker on worker-p001 (SIGTERM): it withdraws its route before it exits');
  const t0 = performance.now();
  const stopped = await lab.node('worker-p001').stopSpeaker();
  await hops(bgp.nodeIps(['worker-p002']), `after worker-p001's speaker stopped (exit ${stopped.code})`);
  say(`    worker-p001's next hop left BIRD's kernel route ${Math.round(performance.now() - t0)} ms after the stop began`);
  const after = (await onClient(lab, ['curl', '-s', '--max-time', '3', ip])).trim();
  expect(after === `You've hit ${podB}`, `curl after the stop: You've hit ${podB} (worker-p002's pod)`);

  step('Troubleshooting view: openelb-ts doctor on worker-p002 (BGP checks: BgpConf, each BgpPeer\'s session)');
  const next = lab.node('worker-p002');
  prompt(next.name, 'openelb-ts doctor');
  const argv = lab.speakerArgv(next);
  const doc = await next.netns.exec([...argv.slice(0, argv.indexOf('speaker')), 'doctor', '--node-name', next.name, '--namespace', lab.speakerNamespace, '--kubeconfig', lab.cp.speakerKubeconfig], { timeoutMs: 60_000, env: { KUBECONFIG: '' } });
  say((doc.stdout + doc.stderr).trimEnd());
  expect(/bgp-peer bgp-peer/.test(doc.stdout) && /192\.168\.0\.5 port 179 established/.test(doc.stdout), 'doctor: bgp-peer bgp-peer session with 192.168.0.5 port 179 established');
  expect(doc.code === 0, `doctor on ${next.name} finds no problem (exit ${doc.code})`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
