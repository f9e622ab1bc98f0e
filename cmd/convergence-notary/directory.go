package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convergence-ng/convergence/notary/directory"
	"github.com/convergence-ng/convergence/notary/protocol"
)

const directoryUsage = `usage: convergence-notary directory <command> [flags]

commands:
  keygen --out FILE                     make a directory key: the private key goes to FILE
                                        (mode 0600), the public key (for clients) to stdout
  entry [bundle flags | --bundle FILE] --operator O --country CC --network AS --contact C
                                        print this notary's directory entry
  sign --key FILE --name NAME [--out FILE] ENTRY...
                                        sign a directory of the entries (files 'entry' printed)
  verify --pubkey ed25519:KEY FILE      check a directory's signature and list its notaries

The format is in docs/PROTOCOL.md, "Notary directories".`

func directoryCmd(args []string, stdout, stderr io.Writer, now time.Time) error {
	if len(args) == 0 {
		return usage(`run "convergence-notary directory help"`, "directory needs a command\n\n%s", directoryUsage)
	}
	switch args[0] {
	case "keygen":
		return directoryKeygen(args[1:], stdout, stderr)
	case "entry":
		return directoryEntry(args[1:], stdout, stderr, now)
	case "sign":
		return directorySign(args[1:], stdout, stderr, now)
	case "verify":
		return directoryVerify(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, directoryUsage)
		return nil
	}
	return usage(`the directory commands are "keygen", "entry", "sign" and "verify"`, "unknown directory command %q", args[0])
}

// parseFlags parses fs, turning its errors into usage errors that name the command.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usage(fmt.Sprintf("run %q for the flags", fs.Name()+" -h"), "%v", err)
	}
	return nil
}

func directoryKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convergence-notary directory keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "`FILE` to write the private key to (must not exist)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usage("give --out FILE, a path that does not exist yet", "keygen needs --out FILE and nothing else")
	}
	pub, privPEM, err := directory.GenerateKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, iofs.ErrExist) {
		return usage("give another --out path: keygen never replaces a key (clients trust the old one)", "%q exists", *out)
	}
	if err != nil {
		return fmt.Errorf("failed to create key file %q: %w", *out, err)
	}
	if _, err := f.Write(privPEM); err != nil {
		f.Close()
		return fmt.Errorf("failed to write key file %q: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write key file %q: %w", *out, err)
	}
	fmt.Fprintln(stdout, pub)
	fmt.Fprintf(stderr, "private key written to %s (key id %s); give clients the public key above\n", *out, pub.ID())
	return nil
}

func directoryEntry(args []string, stdout, stderr io.Writer, now time.Time) error {
	var bc bundleConfig
	fs := flag.NewFlagSet("convergence-notary directory entry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	checkBundle := bundleFlags(fs, &bc)
	bundleFile := fs.String("bundle", "", "a .notary `FILE` to list, instead of this notary's (the bundle flags)")
	var e directory.Entry
	fs.StringVar(&e.Operator, "operator", "", "who runs the notary (required)")
	fs.StringVar(&e.Country, "country", "", "ISO 3166 `CC` of where its hosts are (required; default the bundle's region)")
	fs.StringVar(&e.Network, "network", "", "the network its hosts are on: `AS` number (AS64500) or provider (required)")
	fs.StringVar(&e.Contact, "contact", "", "how to reach the operator: mailto: or https: `URL` (required)")
	fs.StringVar(&e.Listed, "listed", now.UTC().Format(directory.ListedLayout), "the `DATE` it is listed, YYYY-MM-DD")
	protocols := fs.String("protocols", "", "protocol versions served, such as `1,2` (default: what the bundle advertises)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usage("entry takes only flags", "unexpected argument %q", fs.Arg(0))
	}
	var err error
	if *bundleFile != "" {
		e.BundleJSON, err = os.ReadFile(*bundleFile)
		if err != nil {
			return fmt.Errorf("failed to read bundle %q: %w", *bundleFile, err)
		}
	} else {
		if err := checkBundle(); err != nil {
			return err
		}
		if e.BundleJSON, err = buildBundle(bc); err != nil {
			return err
		}
	}
	b, err := protocol.ParseBundle(e.BundleJSON)
	if err != nil {
		return usage("give the .notary file 'convergence-notary bundle' printed", "%v", err)
	}
	if e.Country == "" {
		e.Country = b.Region
	}
	switch {
	case *protocols != "":
		for _, p := range strings.Split(*protocols, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return usage("give --protocols 1,2 (or 1, or 2)", "bad --protocols %q", *protocols)
			}
			e.Protocols = append(e.Protocols, n)
		}
	case b.V2 != nil:
		e.Protocols = slices.Sorted(slices.Values(b.V2.Protocols))
	default:
		e.Protocols = []int{1}
	}
	out, err := directory.MarshalEntry(e)
	if err != nil {
		return usage("give --operator, --country (two capitals), --network, --contact and --listed YYYY-MM-DD", "%v", err)
	}
	_, err = stdout.Write(out)
	return err
}

func directorySign(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("convergence-notary directory sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "the directory's private key `FILE` (from keygen)")
	name := fs.String("name", "", "the directory's `NAME`, shown to users")
	outFile := fs.String("out", "", "write the signed directory to `FILE` instead of stdout")
	issued := fs.String("issued", "", "when it is issued, RFC 3339 (default now); clients refuse one older than theirs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *keyFile == "":
		return usage(`make a key with "convergence-notary directory keygen --out FILE" and give --key FILE`, "no --key given")
	case *name == "":
		return usage(`add --name "Example community notaries"`, "no --name given")
	case fs.NArg() == 0:
		return usage(`give the entry files "convergence-notary directory entry" printed`, "no entries given")
	}
	d := directory.Directory{Name: *name, Issued: now.UTC().Truncate(time.Second)}
	if *issued != "" {
		t, err := time.Parse(time.RFC3339, *issued)
		if err != nil {
			return usage("give --issued like 2026-12-01T00:00:00Z", "bad --issued %q", *issued)
		}
		d.Issued = t
	}
	privPEM, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("failed to read directory key %q: %w", *keyFile, err)
	}
	priv, err := directory.ParsePrivateKey(privPEM)
	if err != nil {
		return err
	}
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("failed to read entry %q: %w", path, err)
		}
		e, err := directory.ParseEntry(data)
		if err != nil {
			return fmt.Errorf("failed to read entry %q: %w", path, err)
		}
		d.Entries = append(d.Entries, e)
	}
	body, err := directory.MarshalBody(d)
	if err != nil {
		return err
	}
	file, err := directory.Sign(body, priv)
	if err != nil {
		return err
	}
	if *outFile == "" {
		_, err = stdout.Write(file)
		return err
	}
	if err := os.WriteFile(*outFile, file, 0o644); err != nil {
		return fmt.Errorf("failed to write directory %q: %w", *outFile, err)
	}
	fmt.Fprintf(stderr, "signed %d entries into %s\n", len(d.Entries), *outFile)
	return nil
}

func directoryVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convergence-notary directory verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pubs listFlag
	fs.Var(&pubs, "pubkey", "a trusted directory key `ed25519:BASE64` (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(pubs) == 0 || fs.NArg() != 1 {
		return usage("give --pubkey ed25519:KEY (what keygen printed) and one FILE", "verify needs --pubkey and one FILE")
	}
	var keys []directory.PublicKey
	for _, s := range pubs {
		k, err := directory.ParsePublicKey(s)
		if err != nil {
			return usage("give the public key keygen printed, ed25519:BASE64", "%v", err)
		}
		keys = append(keys, k)
	}
	file, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("failed to read directory %q: %w", fs.Arg(0), err)
	}
	d, by, err := directory.Open(file, keys)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "directory %q issued %s, signed by key %s: %d notaries\n", d.Name, d.Issued.Format(time.RFC3339), by.ID(), len(d.Entries))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NOTARY\tOPERATOR\tCOUNTRY\tNETWORK\tHOSTS\tLISTED")
	for _, e := range d.Entries {
		f := directory.FactsOf(e)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name(), e.Operator, e.Country, e.Network, strings.Join(f.Hosts, ","), e.Listed)
	}
	return tw.Flush()
}
