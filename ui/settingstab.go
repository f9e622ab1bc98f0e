package ui

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
)

// The choices the Settings tab offers, in plain words.
var (
	thresholdChoices = []struct {
		label string
		kind  settings.Threshold
	}{
		{"Every notary must agree (strictest)", settings.ThresholdAll},
		{"Most notaries must agree (recommended)", settings.ThresholdMajority},
		{"One notary is enough (weakest)", settings.ThresholdOne},
		{"A number I choose", settings.ThresholdKOfN},
	}
	unreachableChoices = []string{"Count it as a missing vote", "Count it as disagreeing"}
	noAnswerChoices    = []struct {
		label  string
		policy settings.NoAnswerPolicy
	}{
		{"Block the site", settings.NoAnswerBlock},
		{"Allow it, with a warning", settings.NoAnswerAllowWarn},
	}
	durationChoices = []struct {
		label string
		d     time.Duration
	}{
		{"Off", 0}, {"1 hour", time.Hour}, {"1 day", 24 * time.Hour},
		{"1 week", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour},
	}
	maxNotaryChoices = []string{"All of them", "3", "5", "7"}
)

// explainThreshold says in plain words when a site is trusted.
func explainThreshold(kind settings.Threshold, k, max int) string {
	asked := "the notaries asked"
	if max > 0 {
		asked = fmt.Sprintf("the %d notaries asked", max)
	}
	switch kind {
	case settings.ThresholdAll:
		return "A site is trusted only when every one of " + asked + " sees the same certificate as you. Safest, but one slow or wrong notary blocks the site."
	case settings.ThresholdOne:
		return "A site is trusted when at least one of " + asked + " sees the same certificate as you. Few false alarms, but an attacker near that notary could fool it."
	case settings.ThresholdKOfN:
		return fmt.Sprintf("A site is trusted when at least %d of %s see the same certificate as you.", k, asked)
	}
	return "A site is trusted when more than half of " + asked + " see the same certificate as you. A good balance."
}

// settingsTab edits the user's settings and applies them on Save.
type settingsTab struct {
	u       *UI
	content fyne.CanvasObject
	loaded  settings.Settings // the settings as last loaded; keeps fields not shown

	threshold   *widget.RadioGroup
	k           *widget.Select
	explain     *widget.Label
	minAge      *widget.Select
	unreachable *widget.RadioGroup
	noAnswer    *widget.RadioGroup
	cacheTTL    *widget.Select
	exempt      *widget.Check
	maxNotaries *widget.Select
	notify      *widget.Check
	autostart   *widget.Check
	port        *tabEntry
	upstream    *tabEntry
	cleartext   *tabEntry // host:port allowed for tunnels that are not TLS, one per line
	save        *widget.Button
	unsaved     *widget.Label     // "Unsaved changes" beside Save (settingscheck.go)
	shownForm   settings.Settings // what the form showed after the last load; UI goroutine only
}

func labels[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func newSettingsTab(u *UI) *settingsTab {
	t := &settingsTab{u: u, loaded: settings.Defaults()}
	upd := func(string) { t.updateExplain() }
	t.threshold = widget.NewRadioGroup(labels(thresholdChoices, func(c struct {
		label string
		kind  settings.Threshold
	}) string {
		return c.label
	}), upd)
	t.threshold.Required = true
	t.k = widget.NewSelect([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, upd)
	t.explain = widget.NewLabel("")
	t.explain.Wrapping = fyne.TextWrapWord
	t.explain.TextStyle.Italic = true
	t.minAge = widget.NewSelect([]string{"No minimum", "1 day", "1 week", "30 days"}, nil)
	t.unreachable = widget.NewRadioGroup(unreachableChoices, nil)
	t.unreachable.Required = true
	t.noAnswer = widget.NewRadioGroup(labels(noAnswerChoices, func(c struct {
		label  string
		policy settings.NoAnswerPolicy
	}) string {
		return c.label
	}), nil)
	t.noAnswer.Required = true
	t.cacheTTL = widget.NewSelect(labels(durationChoices, func(c struct {
		label string
		d     time.Duration
	}) string {
		return c.label
	}), nil)
	t.exempt = widget.NewCheck("Don't check sites on private networks (home router, printer, intranet)", nil)
	t.maxNotaries = widget.NewSelect(maxNotaryChoices, upd)
	t.notify = widget.NewCheck("Notify me when notaries disagree or a site is blocked", nil)
	t.autostart = widget.NewCheck("Start Convergence when I log in", nil)
	t.port = newTabEntry()
	t.port.Validator = func(s string) error {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("enter a port number from 1 to 65535")
		}
		return nil
	}
	t.upstream = newTabEntry()
	t.upstream.SetPlaceHolder("none: connect directly")
	t.cleartext = newTabMultiLineEntry()
	t.cleartext.SetPlaceHolder("none; e.g. chat.example.org:5222")
	t.cleartext.SetMinRowsVisible(3)
	t.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), t.saveNow)
	t.save.Importance = widget.HighImportance
	t.addChecks()

	form := widget.NewForm(
		widget.NewFormItem("Trust a site when", container.NewVBox(t.threshold, container.NewHBox(widget.NewLabel("At least"), t.k, widget.NewLabel("notaries agree")), t.explain)),
		widget.NewFormItem("Notaries asked per site", t.maxNotaries),
		hinted("Certificate seen for at least", t.minAge, "How long the notaries must have seen the site's certificate: "+
			"one an attacker made minutes ago is new to them."),
		widget.NewFormItem("A notary that does not answer", t.unreachable),
		widget.NewFormItem("When too few notaries answer", t.noAnswer),
		hinted("Remember a site's check for", t.cacheTTL, "The notaries are asked again after this long; Off asks them at every visit."),
		widget.NewFormItem("Private networks", t.exempt),
		widget.NewFormItem("Notifications", t.notify),
		widget.NewFormItem("Start at login", t.autostart),
		hinted("Proxy port", t.port, atRestart),
		hinted("Upstream proxy", t.upstream, "An http:// proxy your network requires, as http://host:port. "+atRestart),
		hinted("Cleartext allowed to", t.cleartext, "A connection that does not start with TLS (plain TCP, or STARTTLS as in mail, "+
			"chat and databases) cannot be checked, so it is refused, except to these host:port, one per line. Each one is shown in Activity."),
	)
	t.content = container.NewBorder(nil, container.NewHBox(t.save, t.unsaved), nil, nil, container.NewVScroll(form))
	t.show(t.loaded)
	return t
}

// reload fetches the settings in the background and shows them.
func (t *settingsTab) reload() {
	var s settings.Settings
	t.u.goWork(func(ctx context.Context) (err error) {
		s, err = t.u.backend.Settings(ctx)
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError("read your settings", err)
			return
		}
		t.show(s)
	})
}

// show puts settings into the widgets; the autostart box shows what is on disk.
func (t *settingsTab) show(s settings.Settings) {
	t.loaded = s
	for _, c := range thresholdChoices {
		if c.kind == s.Threshold {
			t.threshold.SetSelected(c.label)
		}
	}
	t.k.SetSelected(strconv.Itoa(max(1, s.ThresholdK)))
	switch {
	case s.MinAgreeAge >= 30*24*time.Hour:
		t.minAge.SetSelected("30 days")
	case s.MinAgreeAge >= 7*24*time.Hour:
		t.minAge.SetSelected("1 week")
	case s.MinAgreeAge > 0:
		t.minAge.SetSelected("1 day")
	default:
		t.minAge.SetSelected("No minimum")
	}
	t.unreachable.SetSelected(unreachableChoices[boolIndex(s.UnreachableCountsAgainst)])
	for _, c := range noAnswerChoices {
		if c.policy == s.NoAnswerPolicy {
			t.noAnswer.SetSelected(c.label)
		}
	}
	// A lifetime set elsewhere (the terminal face) is shown as it is and kept.
	ttl, opts := "", labels(durationChoices, func(c struct {
		label string
		d     time.Duration
	}) string {
		return c.label
	})
	for _, c := range durationChoices {
		if c.d == s.CacheTTL {
			ttl = c.label
		}
	}
	if ttl == "" {
		ttl = s.CacheTTL.String() + " (current)"
		opts = append(opts, ttl)
	}
	t.cacheTTL.SetOptions(opts)
	t.cacheTTL.SetSelected(ttl)
	t.exempt.SetChecked(s.ExemptPrivate)
	t.maxNotaries.SetSelected(maxNotaryChoices[0])
	for _, c := range maxNotaryChoices[1:] {
		if c == strconv.Itoa(s.MaxNotaries) {
			t.maxNotaries.SetSelected(c)
		}
	}
	t.notify.SetChecked(s.Notifications)
	t.autostart.SetChecked(t.u.autostart.IsEnabled())
	if _, port, err := net.SplitHostPort(s.ListenAddr); err == nil {
		t.port.SetText(port)
	}
	t.upstream.SetText(s.UpstreamProxy)
	t.cleartext.SetText(strings.Join(s.CleartextAllow, "\n"))
	t.u.mu.Lock()
	t.u.notifyOn = s.Notifications
	t.u.mu.Unlock()
	t.updateExplain()
	t.markShown()
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// collect reads the widgets into a copy of the loaded settings.
func (t *settingsTab) collect() settings.Settings {
	s := t.loaded
	for _, c := range thresholdChoices {
		if c.label == t.threshold.Selected {
			s.Threshold = c.kind
		}
	}
	s.ThresholdK, _ = strconv.Atoi(t.k.Selected)
	s.MinAgreeAge = map[string]time.Duration{"1 day": 24 * time.Hour, "1 week": 7 * 24 * time.Hour, "30 days": 30 * 24 * time.Hour}[t.minAge.Selected]
	s.UnreachableCountsAgainst = t.unreachable.Selected == unreachableChoices[1]
	for _, c := range noAnswerChoices {
		if c.label == t.noAnswer.Selected {
			s.NoAnswerPolicy = c.policy
		}
	}
	for _, c := range durationChoices {
		if c.label == t.cacheTTL.Selected {
			s.CacheTTL = c.d
		}
	}
	s.ExemptPrivate = t.exempt.Checked
	s.MaxNotaries, _ = strconv.Atoi(t.maxNotaries.Selected) // "All of them" -> 0
	s.Notifications = t.notify.Checked
	s.Autostart = t.autostart.Checked
	if host, _, err := net.SplitHostPort(s.ListenAddr); err == nil && t.port.Validate() == nil {
		s.ListenAddr = net.JoinHostPort(host, strings.TrimSpace(t.port.Text))
	}
	s.UpstreamProxy = strings.TrimSpace(t.upstream.Text)
	s.CleartextAllow = nil // checked and normalised when saved
	for _, line := range strings.Split(t.cleartext.Text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			s.CleartextAllow = append(s.CleartextAllow, line)
		}
	}
	return s
}

// updateExplain rewords the threshold explanation and enables K only for k-of-n.
func (t *settingsTab) updateExplain() {
	s := t.collect()
	if s.Threshold == settings.ThresholdKOfN {
		t.k.Enable()
	} else {
		t.k.Disable()
	}
	t.explain.SetText(explainThreshold(s.Threshold, s.ThresholdK, s.MaxNotaries))
	t.changed()
}

// saveNow applies autostart, then stores the settings the user changed through the
// backend, and shows the settings as stored (with what another face changed meanwhile).
func (t *settingsTab) saveNow() {
	if bad := t.fieldProblems(); len(bad) > 0 {
		t.u.showError("save the settings", fmt.Errorf("%w: %s", settings.ErrInvalidSettings, strings.Join(bad, "; ")))
		return
	}
	s := t.collect()
	if err := t.u.setAutostart(s.Autostart); err != nil {
		t.u.showError("change start at login", err)
		s.Autostart = t.u.autostart.IsEnabled()
		t.autostart.SetChecked(s.Autostart)
	}
	shown := t.loaded
	var saved settings.Settings
	t.u.withProgress("Saving", func(ctx context.Context) error {
		var err error
		saved, err = t.u.backend.UpdateSettings(ctx, settings.Changes(shown, s))
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError("save the settings", err)
			return
		}
		t.show(saved)
		t.u.inform("Saved", "Your settings are in effect for the next site you visit.")
	})
}

// atRestart is the hint of the settings the app reads only when it starts.
const atRestart = "Takes effect the next time Convergence starts."

// hinted is a form item with a hint under it.
func hinted(label string, w fyne.CanvasObject, hint string) *widget.FormItem {
	item := widget.NewFormItem(label, w)
	item.HintText = hint
	return item
}
