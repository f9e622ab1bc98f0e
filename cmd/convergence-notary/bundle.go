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

func parseBundle(args []string, stderr io.Writer) (bundleConfig, error) {
	var c bundleConfig
	var hosts listFlag
	fs := flag.NewFlagSet("convergence-notary bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", "/var/lib/convergence-notary", "data `DIR` holding the notary's key (created if absent)")
	fs.StringVar(&c.keyDir, "key-dir", "", "`DIR` holding a fleet's key (as serve --key-dir; read, never created), instead of --data")
	fs.StringVar(&c.keyType, "key-type", "", "key to create if absent: ecdsa (default) or rsa")
	fs.StringVar(&c.name, "name", "", "notary `NAME` (required)")
	fs.Var(&hosts, "host", "`NAME` clients reach the notary at (required, repeatable)")
	fs.StringVar(&c.region, "region", "", "ISO 3166 country `CC`")
	fs.StringVar(&c.location, "bundle-location", "", "https `URL` the bundle will be published at")
	fs.IntVar(&c.sslPort, "ssl-port", 443, "HTTPS port of the notary")
	fs.IntVar(&c.httpPort, "http-port", 80, "plain port recorded for original clients")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return c, err
		}
		return c, usage(`run "convergence-notary bundle -h" for the flags`, "%v", err)
	}
	c.hosts = hosts
	switch {
	case fs.NArg() > 0:
		return c, usage("bundle takes only flags", "unexpected argument %q", fs.Arg(0))
	case c.name == "":
		return c, usage(`add --name "Example Notary"`, "no --name given")
	case len(c.hosts) == 0:
		return c, usage("add --host notary.example.org (the name clients connect to)", "no --host given")
	case c.keyType != "" && c.keyType != keys.KeyECDSA && c.keyType != keys.KeyRSA:
		return c, usage("use --key-type ecdsa (default) or --key-type rsa", "unknown key type %q", c.keyType)
	}
	return c, nil
}

// printBundle writes the notary's bundle (creating its key on first use) to stdout.
func printBundle(c bundleConfig, stdout io.Writer) error {
	load := func() (*keys.Identity, error) { return keys.LoadOrCreate(c.data, c.keyType, c.hosts) }
	if c.keyDir != "" {
		load = func() (*keys.Identity, error) { return keys.Load(c.keyDir) }
	}
	id, err := load()
	if err != nil {
		return err
	}
	b, err := id.Bundle(keys.BundleOptions{Name: c.name, Hosts: c.hosts, Region: c.region, Location: c.location, SSLPort: c.sslPort, HTTPPort: c.httpPort})
	if err != nil {
		return usage("check --name, --host, --region (two letters) and --bundle-location (https URL)", "%v", err)
	}
	data, err := protocol.MarshalBundle(b)
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}
