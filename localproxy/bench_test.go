package localproxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/settings"
)

// The benchmarks compare, in one run, a direct TLS connection to a loopback site, the
// same through this proxy, and the same through mitmproxy (skipped when mitmdump is not
// installed). The Checker is the trivial test one, so the figures are the proxy's own
// cost, not the notaries'.

type benchPath struct {
	name   string
	site   *site
	client func(keepAlive bool) *http.Client
	cpu    func() time.Duration // CPU time used so far by a proxy in another process; nil for none
}

func benchPaths(b *testing.B, s *site) []benchPath {
	r := startProxy(b, nil)
	sitePool := x509.NewCertPool()
	sitePool.AddCert(s.Certificate())
	mk := func(proxy string, pool *x509.CertPool) func(bool) *http.Client {
		return func(keepAlive bool) *http.Client {
			tr := &http.Transport{
				TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
				DisableKeepAlives: !keepAlive,
			}
			if proxy != "" {
				tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: proxy})
			}
			return &http.Client{Transport: tr, Timeout: time.Minute}
		}
	}
	ourPool := x509.NewCertPool()
	ourPool.AddCert(r.ca.Certificate())
	paths := []benchPath{
		{"direct", s, mk("", sitePool), nil},
		{"via-proxy", s, mk(r.addr, ourPool), nil},
	}
	if addr, pool, pid := startMitmproxy(b); addr != "" {
		paths = append(paths, benchPath{"via-mitmproxy", s, mk(addr, pool), func() time.Duration { return procCPU(pid) }})
	}
	return paths
}

func fetch(b *testing.B, c *http.Client, u string) int64 {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return n
}

// BenchmarkProxyConnect measures a new connection plus one small request.
func BenchmarkProxyConnect(b *testing.B) {
	s := newSite(b, false)
	u := "https://127.0.0.1:" + s.port() + "/"
	for _, p := range benchPaths(b, s) {
		b.Run(p.name, func(b *testing.B) {
			c := p.client(false)
			fetch(b, c, u) // warm the leaf cache: this measures connections, not minting
			b.ResetTimer()
			for b.Loop() {
				fetch(b, c, u)
			}
		})
	}
}

// BenchmarkProxyBulk measures a 16 MiB download over a kept-alive connection.
func BenchmarkProxyBulk(b *testing.B) {
	s := newSite(b, false)
	u := "https://127.0.0.1:" + s.port() + "/bulk"
	for _, p := range benchPaths(b, s) {
		b.Run(p.name, func(b *testing.B) {
			c := p.client(true)
			fetch(b, c, u)
			b.SetBytes(16 << 20)
			b.ResetTimer()
			for b.Loop() {
				if n := fetch(b, c, u); n != 16<<20 {
					b.Fatalf("got %d bytes", n)
				}
			}
		})
	}
}

// BenchmarkLeafMint measures minting a leaf (one ECDSA P-256 signature with the shared
// leaf key) against a cache hit.
func BenchmarkLeafMint(b *testing.B) {
	ca, err := LoadOrCreateCA(b.TempDir(), settings.NewMemorySecrets())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := ca.Leaf(fmt.Sprintf("n%d.bench.test", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		if _, err := ca.Leaf("hot.bench.test"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := ca.Leaf("hot.bench.test"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// startMitmproxy runs mitmdump on a loopback port with its own config dir and returns
// its address, CA and process id, or "" when mitmdump is not installed.
func startMitmproxy(b *testing.B) (string, *x509.CertPool, int) {
	bin, err := exec.LookPath("mitmdump")
	if err != nil {
		b.Log("mitmdump not installed: skipping the mitmproxy comparison")
		return "", nil, 0
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()
	conf := b.TempDir()
	cmd := exec.Command(bin, "--listen-host", "127.0.0.1", "--listen-port", port, "--ssl-insecure", "-q",
		"--set", "confdir="+conf, "--set", "stream_large_bodies=1m")
	if err := cmd.Start(); err != nil {
		b.Fatalf("start mitmdump: %v", err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	caFile := filepath.Join(conf, "mitmproxy-ca-cert.pem")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue
		}
		c.Close()
		pem, err := os.ReadFile(caFile)
		if err != nil {
			continue
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			b.Fatalf("bad mitmproxy CA in %q", caFile)
		}
		return addr, pool, cmd.Process.Pid
	}
	b.Fatalf("mitmdump did not start on %s within 30 s", addr)
	return "", nil, 0
}
