package server

import (
	"bytes"
	"fmt"
	"html/template"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}} — Convergence notary</title>
<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5}code{word-break:break-all}</style></head>
<body><h1>{{.Name}}</h1>
<p>This is a <a href="https://github.com/convergence-ng/convergence">Convergence</a> notary. It tells
Convergence clients which certificate it sees for a site, from its own place on the network,
so that they can trust a site without trusting every certificate authority.</p>
<p>To use it, import its bundle into Convergence: <a href="{{.BundlePath}}">{{.BundlePath}}</a>.</p>
<p>Its certificate fingerprints (compare them with the bundle you import):</p>
<ul><li>SHA-256: <code>{{.SHA256}}</code></li><li>SHA-1: <code>{{.SHA1}}</code></li></ul>
<p>Protocols: v1 (original Convergence, <code>/target/host+port</code>) and v2 (<code>{{.V2Path}}</code>).
This notary does not log who asks.</p>
</body></html>
`))

func renderPage(name string, id *keys.Identity) ([]byte, error) {
	if name == "" {
		name = "Convergence notary"
	}
	var b bytes.Buffer
	err := pageTmpl.Execute(&b, map[string]string{
		"Name": name, "BundlePath": protocol.WellKnownBundlePath, "V2Path": protocol.V2Path,
		"SHA256": protocol.SHA256Fingerprint(id.Cert.Raw), "SHA1": protocol.SHA1Fingerprint(id.Cert.Raw),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to render page: %w", err)
	}
	return b.Bytes(), nil
}
