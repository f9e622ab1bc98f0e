package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

// keygen creates a notary identity in --key-dir, or loads the one there, and prints its
// certificate's fingerprint: the first step of a fleet, whose members all get a copy.
func keygen(args []string, stdout, stderr io.Writer) error {
	var dir, keyType string
	var hosts listFlag
	fs := flag.NewFlagSet("convergence-notary keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&dir, "key-dir", "", "`DIR` to create the key and certificate in (0700)")
	fs.StringVar(&keyType, "key-type", "", "ecdsa (default), ed25519 (Convergence clients only) or rsa (RSA-2048, for original clients)")
	fs.Var(&hosts, "host", "`NAME` clients reach the notary at (repeatable): in the certificate")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usage(`run "convergence-notary keygen -h" for the flags`, "%v", err)
	}
	if dir == "" || fs.NArg() > 0 {
		return usage("give --key-dir DIR and, as flags, --host NAME", "keygen needs --key-dir and no arguments")
	}
	if keyType != "" && keyType != keys.KeyECDSA && keyType != keys.KeyEd25519 && keyType != keys.KeyRSA {
		return usage("use --key-type ecdsa (default), ed25519 or rsa", "unknown key type %q", keyType)
	}
	id, err := keys.LoadOrCreate(dir, keyType, hosts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key %s in %s\ncertificate SHA-256 %s\n", id.KeyType, dir, protocol.SHA256Fingerprint(id.Cert.Raw))
	return nil
}
