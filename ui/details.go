package ui

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/verifier"
)

// showDetails opens the details of one verdict: the certificate, each notary's answer,
// and the actions "trust anyway" (showTrustAnyway) and "forget".
func (u *UI) showDetails(ev verifier.Event) {
	v := ev.Verdict
	head := widget.NewLabel(fmt.Sprintf("%s was %s at %s.", v.Target, v.Outcome, ev.Time.Format("2 Jan 15:04:05")))
	head.TextStyle.Bold = true
	head.Wrapping = fyne.TextWrapWord
	why := widget.NewLabel(whyText(v))
	why.Wrapping = fyne.TextWrapWord

	cert := widget.NewLabel("SHA-256 " + v.FingerprintSHA256 + "\nLooking for the certificate…")
	cert.Wrapping = fyne.TextWrapBreak
	if v.FingerprintSHA256 != "" {
		var c *x509.Certificate
		u.goWork(func(ctx context.Context) (err error) {
			c, err = u.backend.Certificate(ctx, v.FingerprintSHA256)
			return err
		}, func(err error) {
			if err != nil {
				cert.SetText("SHA-256 " + v.FingerprintSHA256 + "\n(The certificate itself is no longer kept.)")
				return
			}
			cert.SetText(certText(c))
		})
	}

	answers := widget.NewLabel(answersText(v.Answers))
	answers.Wrapping = fyne.TextWrapWord

	var d *dialog.CustomDialog
	trust := widget.NewButton("Trust anyway…", func() {
		u.showTrustAnyway(v, func() {
			d.Hide()
			u.cache.reload()
		})
	})
	if v.FingerprintSHA256 == "" || v.Source == verifier.SourcePin {
		trust.Disable()
	}
	forget := widget.NewButton("Forget", func() {
		u.withProgress("Forgetting", func(ctx context.Context) error {
			return u.backend.ForgetSite(ctx, v.Target, v.FingerprintSHA256)
		}, func(err error) {
			if err != nil {
				u.showError("forget this verdict", err)
				return
			}
			d.Hide()
			u.cache.reload()
		})
	})
	body := container.NewVBox(head, why,
		widget.NewCard("", "Certificate", cert),
		widget.NewCard("", "What each notary said", answers),
		container.NewHBox(trust, forget))
	d = dialog.NewCustom(v.Target.String(), "Close", container.NewVScroll(body), u.win)
	u.answerKeys(d, d.Hide, d.Hide)
	d.Resize(fyne.NewSize(640, 520))
	d.Show()
}

// whyText words why the verdict went as it did: its reason, its warning, and the
// notaries' counts in the words of every surface (verifier.CountWords).
func whyText(v verifier.Verdict) string {
	lines := []string{}
	if v.Reason != "" {
		lines = append(lines, "Why: "+sentence(v.Reason))
	}
	if v.Warning != "" {
		lines = append(lines, "Warning: "+v.Warning)
	}
	if v.Asked > 0 {
		lines = append(lines, "Notaries: "+verifier.CountWords(v)+".")
	}
	return strings.Join(lines, "\n")
}

// certText describes a certificate: subject, issuer, validity and fingerprints.
func certText(c *x509.Certificate) string {
	s1 := sha1.Sum(c.Raw)
	return fmt.Sprintf("Subject: %s\nNames: %s\nIssuer: %s\nValid: %s to %s\nSHA-256 %s\nSHA-1 %s",
		c.Subject, strings.Join(c.DNSNames, ", "), c.Issuer,
		c.NotBefore.Format("2 Jan 2006"), c.NotAfter.Format("2 Jan 2006"),
		verifier.FingerprintSHA256(c), strings.ToUpper(hex.EncodeToString(s1[:])))
}

// answersText words each notary's answer, one paragraph per notary.
func answersText(answers []verifier.NotaryAnswer) string {
	if len(answers) == 0 {
		return "No notary was asked for this verdict."
	}
	var b strings.Builder
	for i, a := range answers {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(a.Notary)
		if a.Host != "" { // no host when the notary was not waited for, or in old history
			fmt.Fprintf(&b, " (%s)", a.Host)
		}
		b.WriteString(": " + answerWords(a.Kind))
		if a.Latency > 0 {
			fmt.Fprintf(&b, " in %d ms", a.Latency.Milliseconds())
		}
		if a.Err != "" {
			b.WriteString(" — " + a.Err)
		}
		for _, s := range a.Seen {
			fp := s.FingerprintSHA256
			if fp == "" {
				fp = s.FingerprintSHA1
			}
			if len(fp) > 16 {
				fp = fp[:16] + "…"
			}
			fmt.Fprintf(&b, "\n    saw %s from %s to %s", fp, s.FirstSeen.Format("2 Jan 2006"), s.LastSeen.Format("2 Jan 2006"))
		}
	}
	return b.String()
}

// answerWords says what an answer kind means.
func answerWords(k verifier.AnswerKind) string {
	switch k {
	case verifier.AnswerAgree:
		return "saw the same certificate"
	case verifier.AnswerDisagree:
		return "saw a different certificate"
	case verifier.AnswerUnreachable:
		return "did not answer"
	case verifier.AnswerInvalid:
		return "gave an answer that could not be used"
	case verifier.AnswerUnauthentic:
		return "failed authentication: someone may be impersonating it on this network"
	case verifier.AnswerNoOpinion:
		return "could not tell"
	case verifier.AnswerNotAsked:
		return "not needed (decided before it answered)"
	}
	return string(k)
}

// sentence ends s with a full stop, for a line that runs on into the next one.
func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
