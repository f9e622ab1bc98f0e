package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/convergence-ng/convergence/notary/protocol"
)

// runLiar serves the notary protocol (v1 and v2) and vouches for every certificate it
// is asked about, with valid signatures: a notary that lies. It writes its bundle to
// --bundle before it starts listening.
func runLiar(ctx context.Context, args []string) error {
	var listen listFlag
	fs := flag.NewFlagSet("labpeer liar", flag.ContinueOnError)
	fs.Var(&listen, "listen", "`ADDR` to serve on (repeatable)")
	host := fs.String("host", "", "`NAME` clients reach the liar at (in its bundle and certificate)")
	name := fs.String("name", "Liar", "notary name in the bundle")
	bundlePath := fs.String("bundle", "", "write the .notary bundle to `FILE`")
	recordPath := fs.String("record", "", "append one JSON line per request to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(listen) == 0 || *host == "" || *bundlePath == "" {
		return fmt.Errorf("liar needs --listen, --host and --bundle")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("failed to generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: *host},
		DNSNames:     []string{*host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("failed to create certificate: %w", err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	cert, _ := x509.ParseCertificate(der)
	bundle, err := protocol.MarshalBundle(protocol.Bundle{Version: 1, Name: *name, Hosts: []protocol.BundleHost{
		{Host: *host, SSLPort: 443, HTTPPort: 80, CertificatePEM: certPEM, Certificate: cert}},
		V2: &protocol.BundleV2{Protocols: []int{1, 2}, KeyType: "ecdsa-p256"}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*bundlePath, bundle, 0o644); err != nil {
		return fmt.Errorf("failed to write bundle: %w", err)
	}
	rec, err := openRecorder(*recordPath)
	if err != nil {
		return err
	}
	defer rec.close()
	mux := http.NewServeMux()
	mux.HandleFunc(protocol.V2Path, func(w http.ResponseWriter, r *http.Request) {
		req, err := protocol.ParseV2Request(rec.record(*name, r))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now().Unix()
		body, err := protocol.SignV2(protocol.V2Answer{
			Nonce: req.Nonce, Time: now, Target: protocol.V2Target{Host: req.Host, Port: req.Port},
			SHA256: req.SHA256, Window: 3600,
			Observations: []protocol.V2Observation{{SHA256: req.SHA256, FirstSeen: now - 400*86400, LastSeen: now}},
			Checks:       []protocol.V2Check{{Name: protocol.CheckNetwork, Verdict: protocol.VerdictAgree, Deciding: true, Detail: "trust me"}},
			Status:       protocol.StatusConfirmed,
		}, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc(protocol.V1PathPrefix, func(w http.ResponseWriter, r *http.Request) {
		form, _ := url.ParseQuery(string(rec.record(*name, r)))
		fp := strings.ToUpper(form.Get("fingerprint"))
		if fp == "" {
			http.Error(w, "no fingerprint", http.StatusBadRequest)
			return
		}
		now := time.Now().Unix()
		body, err := protocol.SignV1([]protocol.V1Entry{{Fingerprint: fp, Start: now - 400*86400, Finish: now}}, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	return serveAll(ctx, srv, listen)
}
