package protocol

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Bundle is a .notary file: one logical notary (an organisation) with one or more hosts.
type Bundle struct {
	Version        int          // 0 (flat host object) or 1
	Name           string       // organisation name; for v0 the host name
	Region         string       // ISO 3166 alpha-2, uppercase; "" if unknown
	BundleLocation string       // https URL the bundle is refreshed from; "" if none
	Hosts          []BundleHost // at least one
	V2             *BundleV2    // our extras; nil for an original bundle
}

// BundleHost is one physical notary host.
type BundleHost struct {
	Host           string            // DNS name or IP literal
	SSLPort        int               // HTTPS port of the notary (default 443)
	HTTPPort       int               // plain port of the original's CONNECT relay (default 80)
	CertificatePEM string            // the pinned TLS certificate, PEM
	Certificate    *x509.Certificate // parsed from CertificatePEM
}

// BundleV2 holds the extras our notaries add in the "convergence_v2" member, which the
// original client ignores.
type BundleV2 struct {
	Protocols []int  `json:"protocols"` // protocol versions served, e.g. [1, 2]
	KeyType   string `json:"key_type"`  // "ecdsa-p256", "ed25519" or "rsa-2048": the TLS key
	// SigningKey is the PEM ("PUBLIC KEY") of the v2 signing key when it differs from the
	// host certificate's key (a notary with an RSA TLS key signs v2 with an ECDSA key).
	SigningKey string `json:"signing_key,omitempty"`
}

// V2PublicKey returns the key that verifies h's v2 answers: the bundle's signing key
// if set, else the host certificate's key.
func (b Bundle) V2PublicKey(h BundleHost) (crypto.PublicKey, error) {
	if b.V2 != nil && b.V2.SigningKey != "" {
		return parsePublicKeyPEM(b.V2.SigningKey)
	}
	if h.Certificate == nil {
		return nil, fmt.Errorf("failed to find v2 key for %q: no certificate: %w", h.Host, ErrMalformed)
	}
	return h.Certificate.PublicKey, nil
}

// SupportsV2 reports whether the bundle advertises protocol 2.
func (b Bundle) SupportsV2() bool { return b.V2 != nil && slices.Contains(b.V2.Protocols, 2) }

type bundleHostWire struct {
	Host        string `json:"host"`
	SSLPort     *int   `json:"ssl_port,omitempty"`
	HTTPPort    *int   `json:"http_port,omitempty"`
	Certificate string `json:"certificate"`
}

type bundleWire struct {
	Version        *int             `json:"version,omitempty"`
	Name           string           `json:"name,omitempty"`
	Region         string           `json:"region,omitempty"`
	BundleLocation string           `json:"bundle_location,omitempty"`
	Hosts          []bundleHostWire `json:"hosts,omitempty"`
	V2             *BundleV2        `json:"convergence_v2,omitempty"`
	bundleHostWire                  // v0: the flat host object
}

// ParseBundle parses and checks a .notary file (v0 or v1, at most MaxBundleSize bytes).
func ParseBundle(data []byte) (Bundle, error) {
	if len(data) > MaxBundleSize {
		return Bundle{}, fmt.Errorf("failed to parse bundle: %d bytes, limit %d: %w", len(data), MaxBundleSize, ErrTooLarge)
	}
	var w bundleWire
	if err := json.Unmarshal(data, &w); err != nil {
		return Bundle{}, fmt.Errorf("failed to parse bundle: %s: %w", jsonProblem(err), ErrMalformed)
	}
	var b Bundle
	hosts := w.Hosts
	switch {
	case w.Version == nil:
		if w.bundleHostWire.Host == "" {
			return Bundle{}, fmt.Errorf("failed to parse bundle: no version and no host: %w", ErrMalformed)
		}
		hosts = []bundleHostWire{w.bundleHostWire}
		b.Name = w.bundleHostWire.Host
	case *w.Version == 1:
		b.Version = 1
		b.Name = strings.TrimSpace(w.Name)
		if b.Name == "" || len(b.Name) > 128 {
			return Bundle{}, fmt.Errorf("failed to parse bundle: name %q: want 1-128 characters: %w", w.Name, ErrMalformed)
		}
	default:
		return Bundle{}, fmt.Errorf("failed to parse bundle: version %d: want 1 (or none for v0): %w", *w.Version, ErrMalformed)
	}
	if len(hosts) == 0 {
		return Bundle{}, fmt.Errorf("failed to parse bundle %q: no hosts: %w", b.Name, ErrMalformed)
	}
	if len(hosts) > 32 {
		return Bundle{}, fmt.Errorf("failed to parse bundle %q: %d hosts, limit 32: %w", b.Name, len(hosts), ErrTooLarge)
	}
	if w.Region != "" {
		r := strings.ToUpper(w.Region)
		if len(r) != 2 || r[0] < 'A' || r[0] > 'Z' || r[1] < 'A' || r[1] > 'Z' {
			return Bundle{}, fmt.Errorf("failed to parse bundle %q: region %q: want an ISO 3166 alpha-2 code like \"DE\": %w", b.Name, w.Region, ErrMalformed)
		}
		b.Region = r
	}
	if w.BundleLocation != "" {
		u, err := url.Parse(w.BundleLocation)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return Bundle{}, fmt.Errorf("failed to parse bundle %q: bundle_location %q: want an https URL: %w", b.Name, w.BundleLocation, ErrMalformed)
		}
		b.BundleLocation = w.BundleLocation
	}
	for i, hw := range hosts {
		h, err := parseBundleHost(hw)
		if err != nil {
			return Bundle{}, fmt.Errorf("failed to parse bundle %q host %d: %w", b.Name, i+1, err)
		}
		b.Hosts = append(b.Hosts, h)
	}
	if w.V2 != nil {
		v2 := *w.V2
		if v2.SigningKey != "" {
			if _, err := parsePublicKeyPEM(v2.SigningKey); err != nil {
				return Bundle{}, fmt.Errorf("failed to parse bundle %q: %w", b.Name, err)
			}
		}
		b.V2 = &v2
	}
	return b, nil
}

func parseBundleHost(hw bundleHostWire) (BundleHost, error) {
	h := BundleHost{SSLPort: 443, HTTPPort: 80, CertificatePEM: hw.Certificate}
	host, err := NormalizeHost(hw.Host)
	if err != nil {
		return BundleHost{}, err
	}
	h.Host = host
	if hw.SSLPort != nil {
		h.SSLPort = *hw.SSLPort
	}
	if err := CheckPort(h.SSLPort); err != nil {
		return BundleHost{}, fmt.Errorf("ssl_port: %w", err)
	}
	if hw.HTTPPort != nil {
		h.HTTPPort = *hw.HTTPPort
	}
	if h.HTTPPort < 0 || h.HTTPPort > 65535 {
		return BundleHost{}, fmt.Errorf("http_port %d: want 0-65535: %w", h.HTTPPort, ErrMalformed)
	}
	block, _ := pem.Decode([]byte(hw.Certificate))
	if block == nil || block.Type != "CERTIFICATE" {
		return BundleHost{}, fmt.Errorf("certificate of %q: not a PEM CERTIFICATE block: %w", host, ErrMalformed)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return BundleHost{}, fmt.Errorf("certificate of %q: %w: %w", host, ErrMalformed, err)
	}
	h.Certificate = cert
	return h, nil
}

func parsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("signing_key: not a PEM PUBLIC KEY block: %w", ErrMalformed)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing_key: %w: %w", ErrMalformed, err)
	}
	if _, err := AlgorithmV2(pub); err != nil {
		return nil, fmt.Errorf("signing_key: %w", err)
	}
	return pub, nil
}

// MarshalBundle writes b as a v1 .notary file (indented JSON), readable by the original
// client; V2 goes in the "convergence_v2" member.
func MarshalBundle(b Bundle) ([]byte, error) {
	if len(b.Hosts) == 0 {
		return nil, fmt.Errorf("failed to marshal bundle %q: no hosts: %w", b.Name, ErrMalformed)
	}
	one := 1
	w := struct {
		Version        *int             `json:"version"`
		Name           string           `json:"name"`
		Region         string           `json:"region,omitempty"`
		BundleLocation string           `json:"bundle_location,omitempty"`
		Hosts          []bundleHostWire `json:"hosts"`
		V2             *BundleV2        `json:"convergence_v2,omitempty"`
	}{&one, b.Name, b.Region, b.BundleLocation, nil, b.V2}
	for _, h := range b.Hosts {
		ssl, http := h.SSLPort, h.HTTPPort
		w.Hosts = append(w.Hosts, bundleHostWire{Host: h.Host, SSLPort: &ssl, HTTPPort: &http, Certificate: h.CertificatePEM})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("failed to marshal bundle %q: %w", b.Name, err)
	}
	out := buf.Bytes()
	if _, err := ParseBundle(out); err != nil {
		return nil, fmt.Errorf("failed to marshal bundle: result does not parse: %w", err)
	}
	return out, nil
}

// jsonProblem says in plain words why data did not decode as a bundle, without the
// JSON decoder's own wording ("invalid character 'v' looking for beginning of value").
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not JSON (the text stops making sense at byte %d), as a .notary bundle is", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q holds a JSON %s where a bundle has a %s", typ.Field, typ.Value, typ.Type)
	case errors.As(err, &typ):
		return fmt.Sprintf("a JSON %s where a bundle is an object", typ.Value)
	}
	return "not JSON, as a .notary bundle is"
}
