package ui

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/localproxy"
)

// The Setup tab's last step: check that it really works. The proxy answers
// https://check.convergence.invalid/ itself; only a browser that goes through it and
// trusts the local authority loads it (core.BrowserCheck). This section shows what
// the proxy saw, the captive portal in the way if any, and the sites let through
// unchecked for now, which the user can end.

// checkSection is the Setup tab's "4. Check that it works" card.
type checkSection struct {
	u          *UI
	card       *widget.Card
	icon       *widget.Icon
	result     *widget.Label
	portal     *fyne.Container // the captive portal's row; hidden when none
	portalMsg  *widget.Label
	allowances *fyne.Container // one row per allowance, with "End now"
	// openURL opens a page in the user's browser (fyne's OpenURL: xdg-open on Linux);
	// a test seam.
	openURL func(*url.URL) error
}

func newCheckSection(u *UI) *checkSection {
	c := &checkSection{u: u, icon: widget.NewIcon(theme.QuestionIcon()), result: wrapLabel(""), portalMsg: wrapLabel(""),
		allowances: container.NewVBox(), openURL: u.app.OpenURL}
	open := widget.NewButtonWithIcon("Open the check page", theme.ComputerIcon(), c.openCheck)
	signIn := widget.NewButtonWithIcon("Open the sign-in page", theme.LoginIcon(), c.openPortal)
	c.portal = container.NewVBox(resultRowOf(widget.NewIcon(theme.InfoIcon()), c.portalMsg), container.NewHBox(signIn))
	c.portal.Hide()
	c.card = widget.NewCard("4. Check that it works", "", container.NewVBox(
		wrapLabel("Open the check page in your browser. It should say \"You are protected\": then your browser goes through Convergence and trusts its local authority."),
		container.NewBorder(nil, nil, c.icon, nil, c.result), container.NewHBox(open), c.portal, c.allowances))
	return c
}

// resultRowOf is resultRow with a label the caller keeps to reword.
func resultRowOf(icon *widget.Icon, l *widget.Label) fyne.CanvasObject {
	return container.NewBorder(nil, nil, icon, nil, l)
}

// checkWords is what the section says of st (pure, for the tests): its icon and line.
func checkWords(st Status) (fyne.Resource, string) {
	b := st.Browser
	switch {
	case b.Untrusted > 0 && b.UntrustedAt.After(b.TrustedAt):
		times := fmt.Sprintf("%d times", b.Untrusted)
		if b.Untrusted == 1 {
			times = "once"
		}
		return theme.WarningIcon(), fmt.Sprintf("Your browser does not trust Convergence's local authority yet: it refused its certificate for %s at %s (%s so far). "+
			"Install the authority (step 2), restart the browser, then open the check page again.", b.UntrustedHost, b.UntrustedAt.Format("15:04"), times)
	case b.AllSet():
		return theme.ConfirmIcon(), "Checked: a browser came through at " + b.TrustedAt.Format("15:04") + " with the local authority trusted (" + shortAgent(b.TrustedBrowser) + ")."
	}
	return theme.QuestionIcon(), "Not checked yet: no browser has loaded the check page through Convergence. Until one does, Convergence cannot tell whether your browser is protected."
}

// shortAgent keeps a User-Agent readable: the product names, not the platform.
func shortAgent(ua string) string {
	if ua == "" {
		return "an unnamed browser"
	}
	var names []string
	for _, f := range strings.Fields(ua) {
		if strings.Contains(f, "/") && !strings.HasPrefix(f, "Mozilla/") && !strings.HasPrefix(f, "AppleWebKit/") {
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return ua
	}
	return strings.Join(names, " ")
}

// show rewords the section from st. UI goroutine only.
func (c *checkSection) show(st Status) {
	icon, line := checkWords(st)
	c.icon.SetResource(icon)
	c.result.SetText(line)
	if p := st.Portal.Portal; p != nil {
		c.portalMsg.SetText("This network wants you to sign in (" + p.Host + ") before Convergence can reach your notaries: that is why sites are blocked. " +
			"\"Open the sign-in page\" lets that page alone through, unchecked, for 10 minutes.")
		c.portal.Show()
	} else {
		c.portal.Hide()
	}
	rows := []fyne.CanvasObject{}
	if len(st.Allowances) > 0 {
		rows = append(rows, widget.NewLabelWithStyle("Let through unchecked for now", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	}
	for _, a := range st.Allowances {
		end := widget.NewButtonWithIcon("End now", theme.CancelIcon(), func() { c.endAllowance(a.Host, a.Port) })
		rows = append(rows, container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), end,
			wrapLabel(fmt.Sprintf("%s, until %s: %s", a.String(), a.Until.Format("15:04"), a.Why))))
	}
	c.allowances.Objects = rows
	c.allowances.Refresh()
}

// openCheck opens the check page in the user's browser.
func (c *checkSection) openCheck() {
	u, _ := url.Parse(localproxy.CheckURL) // a constant that parses
	if err := c.openURL(u); err != nil {
		c.u.showError("open the check page", fmt.Errorf("failed to open %q in your browser: %w; open it there yourself", localproxy.CheckURL, err))
	}
}

// openPortal lets the sign-in page through and opens it.
func (c *checkSection) openPortal() {
	var signIn string
	c.u.goWork(func(ctx context.Context) (err error) {
		signIn, err = c.u.backend.OpenPortal(ctx)
		return err
	}, func(err error) {
		if err == nil {
			var u *url.URL
			if u, err = url.Parse(signIn); err == nil {
				err = c.openURL(u)
			}
		}
		if err != nil {
			c.u.showError("open the sign-in page", err)
		}
		c.u.setup.reload()
	})
}

// endAllowance ends a destination's allowance before its time.
func (c *checkSection) endAllowance(host string, port int) {
	if err := c.u.backend.EndAllowance(host, port); err != nil {
		c.u.showError("end the allowance", err)
	}
	c.u.setup.reload()
}

// statusNotices raises the notifications that a status change (not an event) brings:
// a browser that does not trust the local authority, and a captive portal found.
// Each is said once, and again only after an hour. UI goroutine only.
type statusNotices struct {
	untrusted  int       // refusals already told of
	untrustAt  time.Time // when last told
	portalHost string    // the portal already told of
}

// next returns the notifications st brings after what n has told, and records them.
func (n *statusNotices) next(st Status, now time.Time) []notification {
	var out []notification
	if b := st.Browser; b.Untrusted > n.untrusted && b.UntrustedAt.After(b.TrustedAt) && (n.untrustAt.IsZero() || now.Sub(n.untrustAt) >= time.Hour) {
		n.untrusted, n.untrustAt = b.Untrusted, now
		out = append(out, notification{Calm: true, Title: "Your browser does not trust Convergence's local authority yet",
			Body: "A browser (or another program) came through Convergence but refused its certificate for " + b.UntrustedHost + ", so it shows certificate errors. " +
				"Open Convergence, Setup, step 2, to install the local authority, then restart the browser."})
	}
	host := ""
	if p := st.Portal.Portal; p != nil {
		host = p.Host
	}
	if host != "" && host != n.portalHost {
		out = append(out, notification{Calm: true, Title: "This network wants you to sign in",
			Body: "Convergence can't reach your notaries because the network shows a sign-in page (" + host + "). " +
				"Open a site: its block page offers \"Open the sign-in page\", let through unchecked for 10 minutes (or use Convergence's Setup tab)."})
	}
	n.portalHost = host
	return out
}

// noticeStatus sends the notifications a status change brings. UI goroutine only.
func (u *UI) noticeStatus(st Status) {
	ns := u.statusNotes.next(st, u.now())
	u.mu.Lock()
	on := u.notifyOn
	u.mu.Unlock()
	if !on {
		return
	}
	for _, n := range ns {
		select {
		case u.notifyCh <- n:
		default: // the sender is stuck on D-Bus; drop rather than block the UI
		}
	}
}
