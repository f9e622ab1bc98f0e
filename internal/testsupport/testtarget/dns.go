package testtarget

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a real DNS server on 127.0.0.1 (UDP) answering from a table. It stands in for
// a recursive resolver: with Secure set it sets the AD bit, as a validating resolver
// does for DNSSEC-signed data.
type DNS struct {
	Addr   string // host:port
	mu     sync.Mutex
	rrs    map[string][]dns.RR // protected by mu; key: lowercase FQDN + "/" + type
	secure bool                // protected by mu
	srv    *dns.Server
}

// StartDNS starts the server; it stops when the test ends.
func StartDNS(t testing.TB) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &DNS{Addr: pc.LocalAddr().String(), rrs: map[string][]dns.RR{}}
	started := make(chan struct{})
	d.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.srv.ActivateAndServe()
	}()
	<-started
	t.Cleanup(func() {
		_ = d.srv.Shutdown()
		<-done
	})
	return d
}

// Add adds records in zone-file syntax, e.g. "a.test. 60 IN A 127.0.0.1".
func (d *DNS) Add(t testing.TB, lines ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		h := rr.Header()
		k := strings.ToLower(h.Name) + "/" + dns.TypeToString[h.Rrtype]
		d.rrs[k] = append(d.rrs[k], rr)
	}
}

// SetSecure makes answers carry the AD bit (or not).
func (d *DNS) SetSecure(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.secure = on
}

func (d *DNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	d.mu.Lock()
	if len(req.Question) == 1 {
		q := req.Question[0]
		m.Answer = append(m.Answer, d.rrs[strings.ToLower(q.Name)+"/"+dns.TypeToString[q.Qtype]]...)
	}
	m.AuthenticatedData = d.secure
	d.mu.Unlock()
	_ = w.WriteMsg(m)
}

// Resolver returns a Go resolver that asks this server only.
func (d *DNS) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp", d.Addr)
	}}
}
