package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

// TestSettingsSayWhatIsWrongAndWhatIsUnsaved: a bad field says what is wrong under it,
// Save names every bad field and stores nothing, the form shows changes not yet saved
// until Save, and no placeholder offers a scheme the store refuses.
func TestSettingsSayWhatIsWrongAndWhatIsUnsaved(t *testing.T) {
	b := newStoreBackend(t)
	u, _ := newTestUI(t, b)
	selectTab(t, u, "Settings")
	st := u.settings
	if st.unsaved.Visible() {
		t.Fatal("unsaved changes shown before any change")
	}
	if strings.Contains(st.upstream.PlaceHolder, "://") {
		t.Errorf("the upstream placeholder offers a scheme: %q", st.upstream.PlaceHolder)
	}
	test.Type(st.upstream, "socks5://proxy.example.org:1080")
	if err := st.upstream.Validate(); err == nil || !strings.Contains(err.Error(), `scheme "socks5" is not supported: give an http:// proxy`) {
		t.Errorf("the upstream field's problem: %v", err)
	}
	st.cleartext.SetText("chat.example.org:5222\nmail.example.org")
	if err := st.cleartext.Validate(); err == nil || !strings.Contains(err.Error(), `line 2: "mail.example.org": want host:port`) {
		t.Errorf("the cleartext field's problem: %v", err)
	}
	st.port.SetText("99999")
	if !st.unsaved.Visible() || !hasText(u.win, "Unsaved changes") {
		t.Errorf("no unsaved-changes line after edits: %s", visibleText(u.win))
	}
	tap(t, u, "Save")
	for _, want := range []string{"Proxy port: enter a port number from 1 to 65535", `Upstream proxy: scheme "socks5" is not supported`, "Cleartext allowed to: line 2"} {
		if !hasText(u.win, want) {
			t.Errorf("Save's error lacks %q: %s", want, visibleText(u.win))
		}
	}
	tap(t, u, "Close")
	if s, _ := b.store.Settings(ctxT(t)); s.UpstreamProxy != "" || len(s.CleartextAllow) != 0 {
		t.Fatalf("bad fields were stored: %+v", s)
	}

	st.port.SetText("8118")
	st.upstream.SetText("")
	st.cleartext.SetText("chat.example.org:5222")
	if !st.unsaved.Visible() {
		t.Error("a good change is not shown as unsaved")
	}
	tap(t, u, "Save")
	tap(t, u, "OK")
	if st.unsaved.Visible() {
		t.Error("unsaved changes still shown after Save")
	}
	st.cleartext.SetText("")
	st.cleartext.SetText("chat.example.org:5222")
	if st.unsaved.Visible() {
		t.Error("a field put back as it was counts as a change")
	}
}
