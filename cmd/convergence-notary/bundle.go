package main

import (
	"flag"
	"io"

	"github.com/convergence-ng/convergence/notary/keys"
	"github.com/convergence-ng/convergence/notary/protocol"
)

type bundleConfig struct {
	data, keyType, name, region, location string
	keyDir                                string // a fleet's key, read and never created
	hosts                                 []string
	sslPort, httpPort                     int
}

// bundleFlags adds the flags that describe the notary's bundle to fs; check reads
// them back into c after fs.Parse.
func bundleFlags(fs *flag.FlagSet, c *bundleConfig) (check func() error) {
	var hosts listFlag
	fs.StringVar(&c.data, "data", "/var/lib/convergence-notary", "data `DIR` holding the notary's key (created if absent)")
	fs.StringVar(&c.keyDir, "key-dir", "", "`DIR` holding a fleet's key (as serve --key-dir; read, never created), instead of --data")
	fs.StringVar(&c.keyType, "key-type", "", "key to create if absent: ecdsa (default), ed25519 or rsa")
	fs.StringVar(&c.name, "name", "", "notary `NAME` (required)")
	fs.Var(&hosts, "host", "`NAME` clients reach the notary at (required, repeatable)")
	fs.StringVar(&c.region, "region", "", "ISO 3166 country `CC`")
	fs.StringVar(&c.location, "bundle-location", "", "https `URL` the bundle will be published at")
	fs.IntVar(&c.sslPort, "ssl-port", 443, "HTTPS port of the notary")
	fs.IntVar(&c.httpPort, "http-port", 80, "plain port recorded for original clients")
	return func() error {
		c.hosts = hosts
		switch {
		case c.name == "":
			return usage(`add --name "Example Notary"`, "no --name given")
		case len(c.hosts) == 0:
			return usage("add --host notary.example.org (the name clients connect to)", "no --host given")
		case c.keyType != "" && c.keyType != keys.KeyECDSA && c.keyType != keys.KeyEd25519 && c.keyType != keys.KeyRSA:
			return usage("use --key-type ecdsa (default), ed25519 or rsa", "unknown key type %q", c.keyType)
		}
		return nil
	}
}

func parseBundle(args []string, stderr io.Writer) (bundleConfig, error) {
	var c bundleConfig
	fs := flag.NewFlagSet("convergence-notary bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := bundleFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return c, err
		}
		return c, usage(`run "convergence-notary bundle -h" for the flags`, "%v", err)
	}
	if fs.NArg() > 0 {
		return c, usage("bundle takes only flags", "unexpected argument %q", fs.Arg(0))
	}
	return c, check()
}

// buildBundle returns the notary's bundle file: from a fleet's key directory, or from
// the data directory (creating its key on first use).
func buildBundle(c bundleConfig) ([]byte, error) {
	load := func() (*keys.Identity, error) { return keys.LoadOrCreate(c.data, c.keyType, c.hosts) }
	if c.keyDir != "" {
		load = func() (*keys.Identity, error) { return keys.Load(c.keyDir) }
	}
	id, err := load()
	if err != nil {
		return nil, err
	}
	b, err := id.Bundle(keys.BundleOptions{Name: c.name, Hosts: c.hosts, Region: c.region, Location: c.location, SSLPort: c.sslPort, HTTPPort: c.httpPort})
	if err != nil {
		return nil, usage("check --name, --host, --region (two letters) and --bundle-location (https URL)", "%v", err)
	}
	return protocol.MarshalBundle(b)
}

// printBundle writes the notary's bundle (buildBundle) to stdout.
func printBundle(c bundleConfig, stdout io.Writer) error {
	data, err := buildBundle(c)
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}
