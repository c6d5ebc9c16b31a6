// OpenELB's BGP documentation examples, verbatim (openelb/website, getting-started: "Use OpenELB in
// BGP Mode" and "Configure OpenELB in BGP Mode"): the manifests users copy, which must apply unchanged.
// Upstream docs: "Use OpenELB in BGP Mode", steps 2 and 3, verbatim.
export const DOCS_BGPCONF = `apiVersion: network.kubesphere.io/v1alpha2
kind: BgpConf
metadata:
  name: default
spec:
  as: 50000
  listenPort: 17900
  routerId: 192.168.0.2
`;
export const DOCS_BGPPEER = `apiVersion: network.kubesphere.io/v1alpha2
kind: BgpPeer
metadata:
  name: bgp-peer
spec:
  conf:
    peerAs: 50001
    neighborAddress: 192.168.0.5
`;
// Upstream docs: "Configure OpenELB in BGP Mode", the BgpPeer example, verbatim.
export const DOCS_BGPPEER_FULL = `apiVersion: network.kubesphere.io/v1alpha2
kind: BgpPeer
metadata:
  name: bgppeer-sample
spec:
  conf:
    peerAs: 50001
    neighborAddress: 192.168.0.5
  afiSafis:
    - config:
        family:
          afi: AFI_IP
          safi: SAFI_UNICAST
        enabled: true
      addPaths:
        config:
          sendMax: 10
  nodeSelector:
    matchLabels:
      openelb.kubesphere.io/rack: leaf1
`;
// "Use OpenELB in BGP Mode", step 4, verbatim.
export const DOCS_EIP = `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: bgp-eip
spec:
  address: 172.22.0.2-172.22.0.10
`;
