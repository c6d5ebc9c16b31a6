// Command etcd runs a single-member etcd for the test control plane by
// embedding go.etcd.io/etcd/server/v3/embed. It is a separate Go module from
// the Kubernetes build so the two dependency graphs never have to agree.
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
)

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		log.Fatalf("bad url %q: %v", s, err)
	}
	return *u
}

func main() {
	dataDir := flag.String("data-dir", "", "directory for etcd data (required)")
	clientURL := flag.String("listen-client-url", "http://127.0.0.1:2379", "client URL (loopback only)")
	peerURL := flag.String("listen-peer-url", "http://127.0.0.1:2380", "peer URL (loopback only; unused by a single member but etcd listens on it)")
	logLevel := flag.String("log-level", "warn", "etcd log level")
	flag.Parse()
	if *dataDir == "" {
		log.Fatal("--data-dir is required")
	}

	cfg := embed.NewConfig()
	cfg.Name = "openelb-ts"
	cfg.Dir = *dataDir
	cfg.LogLevel = *logLevel
	cu, pu := mustURL(*clientURL), mustURL(*peerURL)
	cfg.ListenClientUrls = []url.URL{cu}
	cfg.AdvertiseClientUrls = []url.URL{cu}
	cfg.ListenPeerUrls = []url.URL{pu}
	cfg.AdvertisePeerUrls = []url.URL{pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	// Test data is disposable: skipping fsync makes writes (and so API server
	// startup, which writes many objects) much faster on shared CI disks.
	cfg.UnsafeNoFsync = true
	// Keep memory small on a shared 2-core machine.
	cfg.SnapshotCount = 5000
	cfg.QuotaBackendBytes = 512 * 1024 * 1024

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("start etcd: %v", err)
	}
	defer e.Close()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-e.Server.ReadyNotify():
		log.Printf("etcd ready on %s", cu.String())
	case err := <-e.Err():
		log.Fatalf("etcd failed: %v", err)
	case s := <-sig:
		log.Printf("etcd: %v before ready, stopping", s)
		return
	}
	select {
	case err := <-e.Err():
		log.Fatalf("etcd failed: %v", err)
	case s := <-sig:
		log.Printf("etcd: %v, stopping", s)
	}
}
