package localproxy

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPACSendsOnlyLoopbackDirect evaluates the PAC file the proxy serves, over a
// table of hosts, in a real JavaScript engine (node, as a program like curl: no
// module dependency; the test skips without it). Only loopback address literals and
// localhost names go DIRECT; a name that merely starts like an address is a site and
// goes to the proxy (issue 12, door 5). e2e scenario 10 checks the same file in
// Chromium.
func TestPACSendsOnlyLoopbackDirect(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the PAC file is evaluated in Chromium by e2e scenario 10 only")
	}
	r := startProxy(t, nil)
	resp, pac := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+r.addr+"/proxy.pac")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ns-proxy-autoconfig" {
		t.Fatalf("GET /proxy.pac: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	proxy := "PROXY " + r.addr
	table := map[string]string{
		"localhost": "DIRECT", "LocalHost": "DIRECT", "app.localhost": "DIRECT", "a.b.localhost": "DIRECT",
		"127.0.0.1": "DIRECT", "127.1.2.3": "DIRECT", "127.255.255.255": "DIRECT", "::1": "DIRECT", "[::1]": "DIRECT",

		"127.shop.test": proxy, "127.0.0.1.evil.test": proxy, "127.0.0.1.": proxy, "127.0.0": proxy,
		"127.0.0.256": proxy, "127.0.0.1x": proxy, "x127.0.0.1": proxy, "1127.0.0.1": proxy,
		"localhost.evil.test": proxy, "notlocalhost": proxy, "evillocalhost": proxy,
		"shop.test": proxy, "10.0.0.1": proxy, "192.168.1.1": proxy, "[2001:db8::1]": proxy, "::2": proxy,
		"128.0.0.1": proxy, "": proxy,
	}
	hosts := make([]string, 0, len(table))
	for h := range table {
		hosts = append(hosts, h)
	}
	hostsJSON, _ := json.Marshal(hosts)
	// The PAC helpers a browser defines, in case the file uses them (ours no longer does;
	// the one before used shExpMatch).
	helpers := `function shExpMatch(s, p) { return new RegExp("^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$").test(s); }
function dnsDomainIs(h, d) { return h.length >= d.length && h.substring(h.length - d.length) === d; }
`
	script := helpers + pac + "\nvar hosts = " + string(hostsJSON) + ";\nvar out = {};\n" +
		"for (var i = 0; i < hosts.length; i++) { out[hosts[i]] = FindProxyForURL('https://' + hosts[i] + '/', hosts[i]); }\n" +
		"console.log(JSON.stringify(out));\n"
	file := filepath.Join(t.TempDir(), "pac.js")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, file).Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	for h, want := range table {
		if got[h] != want {
			t.Errorf("FindProxyForURL(%q) = %q, want %q", h, got[h], want)
		}
	}
}
