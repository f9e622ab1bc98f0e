package localproxy

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// visits records what Pages.OnCheck is told.
type visits struct {
	mu sync.Mutex
	vs []CheckVisit
}

func (v *visits) add(c CheckVisit) { v.mu.Lock(); v.vs = append(v.vs, c); v.mu.Unlock() }
func (v *visits) all() []CheckVisit {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]CheckVisit(nil), v.vs...)
}

// dials records every address the proxy dials.
type dials struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dials) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	return testDial(ctx, network, addr)
}

func (d *dials) any(sub string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.addrs {
		if strings.Contains(a, sub) {
			return true
		}
	}
	return false
}

// curl runs the real curl through the proxy and returns its output and error.
func curl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (scripts/deps.sh test installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--noproxy", "", "-m", "20"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestCheckPageThroughTheRealProxy: the proxy answers check.convergence.invalid
// itself, never dialling it, for CONNECT and for plain HTTP; curl that trusts the
// local CA (--cacert) sees "You are protected" and is counted as a trusted browser;
// curl that does not fails the handshake, and is counted as one that does not trust
// the authority.
func TestCheckPageThroughTheRealProxy(t *testing.T) {
	var seen visits
	var d dials
	r := startProxy(t, func(c *Config) {
		c.DialContext = d.dial
		c.Pages.OnCheck = seen.add
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, r.ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := "http://" + r.addr

	out, err := curl(t, "-x", proxy, "--cacert", caFile, "-A", "test-browser/1", "-D", "-", CheckURL)
	if err != nil || !strings.Contains(out, ">You are protected</h1>") || !strings.Contains(out, "X-Convergence-Check: protected") {
		t.Fatalf("curl --cacert CA %s: %v\n%s", CheckURL, err, out)
	}
	if vs := seen.all(); len(vs) != 1 || !vs[0].Trusted || vs[0].UserAgent != "test-browser/1" || vs[0].Host != CheckHost {
		t.Fatalf("after a trusted visit OnCheck saw %+v", vs)
	}

	out, err = curl(t, "-x", proxy, CheckURL) // the system's roots only: not our CA
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "certificate") {
		t.Fatalf("curl without the CA: %v\n%s; want a certificate failure", err, out)
	}
	deadline := time.Now().Add(10 * time.Second) // curl may exit before the proxy has read its alert
	for len(seen.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	vs := seen.all()
	if len(vs) != 2 || vs[1].Trusted || vs[1].Alert != "unknown certificate authority" {
		t.Fatalf("after an untrusting visit OnCheck saw %+v", vs)
	}

	out, err = curl(t, "-x", proxy, "http://"+CheckHost+"/")
	if err != nil || !strings.Contains(out, "Almost there") || strings.Contains(out, ">You are protected</h1>") {
		t.Fatalf("plain http: %v\n%s", err, out)
	}
	if len(seen.all()) != 2 {
		t.Errorf("a plain-HTTP visit was counted: %+v", seen.all())
	}
	if d.any("convergence.invalid") {
		t.Errorf("the proxy dialled the check host: %v", d.addrs)
	}
}

// TestUntrustingClientOfASiteIsCounted: a client that refuses the leaf minted for an
// ordinary site (it came through, but does not trust the local CA) is counted too.
func TestUntrustingClientOfASiteIsCounted(t *testing.T) {
	var seen visits
	r := startProxy(t, func(c *Config) { c.Pages.OnCheck = seen.add })
	s := newSite(t, false)
	// TLS 1.3 (curl sends its alert in cleartext) and TLS 1.2 (a remote error to Go).
	for i, tlsArgs := range [][]string{{"--tlsv1.3"}, {"--tlsv1.2", "--tls-max", "1.2"}} {
		out, err := curl(t, append(tlsArgs, "-x", "http://"+r.addr, "https://good.test:"+s.port()+"/")...)
		if err == nil {
			t.Fatalf("curl %v without the CA got through: %s", tlsArgs, out)
		}
		deadline := time.Now().Add(10 * time.Second) // the proxy notes it on its own goroutine
		for len(seen.all()) == i && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if vs := seen.all(); len(vs) != i+1 || vs[i].Trusted || vs[i].Host != "good.test" || vs[i].Alert != "unknown certificate authority" {
			t.Fatalf("curl %v: OnCheck saw %+v", tlsArgs, vs)
		}
	}
}
