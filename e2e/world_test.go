package e2e

import (
	"net/netip"
	"testing"
)

// shop is the site most scenarios visit.
const shop = "shop.test"

// world is one scenario's setting: a lab with a client, a site host and notaries, the
// lab's public CA, and the shop's honest certificate.
type world struct {
	t        *testing.T
	l        *lab
	ca       *testCA
	shopCert leafCert
	shopAddr netip.Addr
	shopSite *site
	notaries []*notary
	liar     *liar
	app      *app
}

// newWorld makes the lab (client, site, then the notary roles) and the shop's name and
// certificate. Nothing runs yet.
func newWorld(t *testing.T, notaryRoles ...string) *world {
	t.Helper()
	roles := append([]string{"client", "site"}, notaryRoles...)
	w := &world{t: t, l: newLab(t, roles...), ca: newTestCA(t, "E2E Public Root CA")}
	w.shopAddr = w.l.host("site").v4
	w.l.name(shop, w.shopAddr)
	w.shopCert = w.ca.issue(t, w.l.dir, "shop", shop)
	return w
}

// startShop runs the honest shop on the site host.
func (w *world) startShop() {
	w.t.Helper()
	w.shopSite = w.l.startSite("site", "shop", w.shopAddr, []leafCert{w.shopCert}, nil)
}

// startNotaries runs an honest notary for each role, named N1, N2, ... in order.
func (w *world) startNotaries(roles ...string) {
	w.t.Helper()
	for _, r := range roles {
		w.notaries = append(w.notaries, w.l.startNotary(r, "N"+r[1:]))
	}
}

// startLiar runs the lying notary "Liar" on role's host.
func (w *world) startLiar(role string) {
	w.t.Helper()
	w.liar = w.l.startLiar(role, "Liar")
}

// startApp makes the app's data dir, imports every notary's bundle, applies the
// settings (each a `set KEY VALUE`), and starts the headless proxy.
func (w *world) startApp(settings ...[2]string) {
	w.t.Helper()
	w.app = w.l.newApp("client")
	for _, n := range w.notaries {
		w.app.cli("notary", "add", n.bundle)
	}
	if w.liar != nil {
		w.app.cli("notary", "add", w.liar.bundle)
	}
	for _, s := range settings {
		w.app.cli("set", s[0], s[1])
	}
	w.app.start()
}

// attackFrom runs the attacker on role's host: it takes the shop's address on that
// host's own loopback and serves a certificate for the shop that the lab's public CA
// really issued (CA validation passes; only the notaries can tell). extra are more
// labpeer site flags, such as --delay.
func (w *world) attackFrom(role string, extra ...string) *site {
	w.t.Helper()
	cert := w.ca.issue(w.t, w.l.dir, "attacker-"+role, shop)
	w.ca.mustValidate(w.t, cert, shop)
	w.l.hijack(role, w.shopAddr)
	return w.l.startSite(role, "attacker-"+role, w.shopAddr, []leafCert{cert}, nil, extra...)
}

// queries is the number of protocol queries each honest notary has received.
func (w *world) queries() []int {
	q := make([]int, len(w.notaries))
	for i, n := range w.notaries {
		q[i] = n.queries()
	}
	return q
}
