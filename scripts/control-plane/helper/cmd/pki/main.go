// Command pki writes the certificates and keys a loopback kube-apiserver
// needs: a CA, the API server's serving cert, an admin client cert
// (system:masters) and the service-account signing key pair. Doing this in Go
// keeps the control plane independent of the host's openssl version.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		log.Fatal(err)
	}
	return n
}

func writePEM(path, typ string, der []byte, mode os.FileMode) {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, mode); err != nil {
		log.Fatal(err)
	}
}

func writeKey(path string, k *ecdsa.PrivateKey) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		log.Fatal(err)
	}
	writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("--dir is required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	out := func(name string) string { return filepath.Join(*dir, name) }
	now := time.Now().Add(-time.Hour) // tolerate small clock skew
	until := now.Add(10 * 365 * 24 * time.Hour)

	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "openelb-ts-test-ca"},
		NotBefore:             now,
		NotAfter:              until,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		log.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(out("ca.crt"), "CERTIFICATE", caDER, 0o644)
	writeKey(out("ca.key"), caKey)

	issue := func(name string, tmpl *x509.Certificate) {
		k := newKey()
		tmpl.SerialNumber = serial()
		tmpl.NotBefore, tmpl.NotAfter = now, until
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			log.Fatal(err)
		}
		writePEM(out(name+".crt"), "CERTIFICATE", der, 0o644)
		writeKey(out(name+".key"), k)
	}
	issue("apiserver", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		// 10.96.0.1 is the first address of --service-cluster-ip-range (the
		// in-cluster "kubernetes" Service).
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.96.0.1")},
	})
	issue("admin", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "openelb-ts-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})

	saKey := newKey()
	writeKey(out("sa.key"), saKey)
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	writePEM(out("sa.pub"), "PUBLIC KEY", pub, 0o644)
}
