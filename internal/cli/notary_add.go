package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/convergence-ng/convergence/internal/core"
	"github.com/convergence-ng/convergence/notary/protocol"
	"github.com/convergence-ng/convergence/verifier"
)

// Errors of 'notary add' that hint names a fix for.
var (
	// errNotConfirmed means a bundle from the web was shown but not trusted: nobody
	// said which certificate to expect, nor that what was shown is right.
	errNotConfirmed = errors.New("a bundle fetched over the web is vouched for by a certificate authority only")
	// errFingerprintMismatch means --fingerprint names none of the bundle's pinned
	// certificates.
	errFingerprintMismatch = errors.New("matches none of the certificates the bundle pins")
	// errKeysChanged means the bundle has the name of a notary trusted with other hosts
	// or keys, and --replace was not given.
	errKeysChanged = errors.New("a notary with this name is trusted with other hosts or keys")
)

// addArgs is the command line of 'notary add'.
type addArgs struct {
	src string
	// yes trusts what the preview shows, and trusts again a notary revoked before.
	yes bool
	// fingerprint is the SHA-256 (canonical form) of a certificate the bundle must pin;
	// "" when not given.
	fingerprint string
	// replace trusts the bundle in place of a notary of the same name trusted with other
	// hosts or keys; without it, such a bundle changes nothing.
	replace bool
}

func parseAddArgs(args []string) (addArgs, error) {
	var a addArgs
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--yes" || arg == "-y":
			a.yes = true
		case arg == "--replace":
			a.replace = true
		case arg == "--fingerprint" || strings.HasPrefix(arg, "--fingerprint="):
			v, inline := strings.CutPrefix(arg, "--fingerprint=")
			if !inline {
				if i+1 == len(args) {
					return a, fmt.Errorf("%w: --fingerprint needs the SHA-256 fingerprint of one of the notary's certificates", ErrUsage)
				}
				i++
				v = args[i]
			}
			fp, err := protocol.NormalizeSHA256Fingerprint(v)
			if err != nil {
				return a, fmt.Errorf("%w: --fingerprint %q is not a SHA-256 fingerprint (64 hex digits, colons allowed)", ErrUsage, v)
			}
			if a.fingerprint != "" && a.fingerprint != fp {
				return a, fmt.Errorf("%w: notary add takes one --fingerprint", ErrUsage)
			}
			a.fingerprint = fp
		case strings.HasPrefix(arg, "-"):
			return a, fmt.Errorf("%w: unknown flag %q for notary add", ErrUsage, arg)
		case a.src != "":
			return a, fmt.Errorf("%w: notary add takes one FILE or URL", ErrUsage)
		default:
			a.src = arg
		}
	}
	if a.src == "" {
		return a, fmt.Errorf("%w: notary add needs a FILE or URL", ErrUsage)
	}
	return a, nil
}

// notaryAdd reads a bundle, prints what it pins and trusts exactly the bytes it showed.
// A local file is trusted as it is (the user chose the file); a bundle from anywhere
// else (an https URL, vouched for by a certificate authority only, which is what
// Convergence does not trust on its own) needs --fingerprint naming one of its
// certificates, or --yes.
func notaryAdd(ctx context.Context, c *core.Core, args []string, out io.Writer) error {
	a, err := parseAddArgs(args)
	if err != nil {
		return err
	}
	// With --fingerprint, the URL's server may show that certificate (the notary's own,
	// self-signed) instead of one a certificate authority signed; the bundle must then
	// pin it too (below).
	a.src = verifier.ResolveBundleSource(a.src) // "notary.example.org" is its well-known URL
	raw, b, err := c.PreviewBundleFrom(ctx, a.src, a.fingerprint)
	if errors.Is(err, protocol.ErrMalformed) {
		return withHint(err, "this is not a .notary bundle: get the notary's from its operator (or from https://HOST/.well-known/convergence.notary with --fingerprint), or make one with 'convergence-notary bundle'")
	}
	if err != nil {
		return err
	}
	printBundle(out, b, a.src)
	if a.fingerprint != "" && !pinsCertificate(b, a.fingerprint) {
		return fmt.Errorf("failed to add notary %q: --fingerprint %s %w; nothing was added", b.Name, a.fingerprint, errFingerprintMismatch)
	}
	// Anything that is not a local path needs confirmation: today only https URLs
	// are read (verifier.ReadBundle refuses other schemes), tomorrow's too.
	if strings.Contains(a.src, "://") && a.fingerprint == "" && !a.yes {
		return fmt.Errorf("failed to add notary %q from %q: %w; nothing was added", b.Name, a.src, errNotConfirmed)
	}
	kc, known, err := c.KeyChange(ctx, b)
	if err != nil {
		return err
	}
	if known && kc.Changed {
		printKeyChange(out, kc)
		if !a.replace {
			return fmt.Errorf("failed to add notary %q: %w; nothing was changed, the notary keeps the hosts and keys it has", b.Name, errKeysChanged)
		}
	}
	n, err := c.ImportBundle(ctx, raw, a.src, a.yes)
	if err != nil {
		return err
	}
	hosts := make([]string, len(n.Hosts))
	for i, h := range n.Hosts {
		hosts[i] = net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort))
	}
	fmt.Fprintf(out, "added notary %q (%s) with hosts %s\n", n.Name, orDash(n.Region), strings.Join(hosts, ", "))
	return nil
}

// pinsCertificate reports whether one of b's hosts pins the certificate with SHA-256
// fingerprint fp (canonical form).
func pinsCertificate(b protocol.Bundle, fp string) bool {
	for _, h := range b.Hosts {
		if h.Certificate != nil && protocol.SHA256Fingerprint(h.Certificate.Raw) == fp {
			return true
		}
	}
	return false
}

// printBundle shows what trusting b means: the notary's name and region, each host
// with the SHA-256 fingerprint of the certificate pinned for it, the key that signs its
// v2 answers and where it is refreshed from.
func printBundle(out io.Writer, b protocol.Bundle, src string) {
	fmt.Fprintf(out, "notary %q (region %s), read from %s\n", b.Name, orDash(b.Region), src)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, h := range b.Hosts {
		fp := "-"
		if h.Certificate != nil {
			fp = fmt.Sprintf("%s key, certificate sha256 %s", h.Certificate.PublicKeyAlgorithm, protocol.SHA256Fingerprint(h.Certificate.Raw))
		}
		fmt.Fprintf(tw, "  host %s\t%s\n", net.JoinHostPort(h.Host, strconv.Itoa(h.SSLPort)), fp)
	}
	switch {
	case b.SupportsV2() && b.V2.SigningKey != "":
		fmt.Fprintf(tw, "  v2 signing key\t%s\n", describeKeyPEM(b.V2.SigningKey))
	case b.SupportsV2():
		fmt.Fprintf(tw, "  v2 signing key\tthe certificate keys above\n")
	default:
		fmt.Fprintf(tw, "  v2\tnot spoken: answers follow the original protocol (v1)\n")
	}
	if b.BundleLocation != "" {
		fmt.Fprintf(tw, "  refreshed from\t%s\n", b.BundleLocation)
	}
	tw.Flush()
}

// describeKeyPEM names a PEM public key (ParseBundle checked it) by its v2 algorithm
// and the SHA-256 of its DER (SubjectPublicKeyInfo).
func describeKeyPEM(s string) string {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return "unreadable"
	}
	alg := "unknown"
	if pub, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		if a, err := protocol.AlgorithmV2(pub); err == nil {
			alg = a
		}
	}
	return fmt.Sprintf("%s key sha256 %s", alg, protocol.SHA256Fingerprint(block.Bytes))
}

// printKeyChange shows a known notary's hosts and keys, trusted now and in the bundle,
// side by side.
func printKeyChange(out io.Writer, kc verifier.KeyChange) {
	fmt.Fprintf(out, "warning: notary %q is trusted with other hosts or keys than this bundle has\n", kc.Name)
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "  TRUSTED NOW\tIN THIS BUNDLE")
	for i := 0; i < max(len(kc.Old), len(kc.New)); i++ {
		o, n := "", ""
		if i < len(kc.Old) {
			o = kc.Old[i]
		}
		if i < len(kc.New) {
			n = kc.New[i]
		}
		fmt.Fprintf(tw, "  %s\t%s\n", orDash(o), orDash(n))
	}
	tw.Flush()
}
