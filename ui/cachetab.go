package ui

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/convergence-ng/convergence/settings"
	"github.com/convergence-ng/convergence/verifier"
)

// cacheTab lists the cached verdicts, searchable, with remove-one and clear-all.
type cacheTab struct {
	u       *UI
	content fyne.CanvasObject
	search  *tabEntry
	list    *widget.List
	count   *widget.Label
	clear   *widget.Button

	all   []settings.CacheEntry // as loaded; UI goroutine only
	shown []settings.CacheEntry // filtered
}

func newCacheTab(u *UI) *cacheTab {
	t := &cacheTab{u: u}
	t.search = newTabEntry()
	t.search.SetPlaceHolder("Search cached sites…")
	t.search.OnChanged = func(string) { t.filter() }
	t.list = widget.NewList(
		func() int { return len(t.shown) },
		func() fyne.CanvasObject {
			site := widget.NewLabel("site")
			site.Truncation = fyne.TextTruncateEllipsis
			rm := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), nil)
			return container.NewBorder(nil, nil, nil, rm, site)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(t.shown) {
				return
			}
			e := t.shown[id]
			row := o.(*fyne.Container)
			row.Objects[0].(*widget.Label).SetText(cacheLine(e))
			row.Objects[1].(*widget.Button).OnTapped = func() { t.remove(e) }
		})
	t.count = widget.NewLabel("")
	t.clear = widget.NewButtonWithIcon("Clear all…", theme.ContentClearIcon(), t.confirmClear)
	explain := widget.NewLabel("Verdicts are reused for a while so that notaries are not asked on every visit. Remove one to have the notaries asked again.")
	explain.Wrapping = fyne.TextWrapWord
	top := container.NewVBox(explain, container.NewBorder(nil, nil, nil, t.clear, t.search), t.count)
	t.content = container.NewBorder(top, nil, nil, nil, t.list)
	return t
}

// cacheLine words one cache entry.
func cacheLine(e settings.CacheEntry) string {
	fp := e.FingerprintSHA256
	if len(fp) > 12 {
		fp = fp[:12] + "…"
	}
	return fmt.Sprintf("%s · certificate %s · vouched for by %s · until %s",
		net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), fp, strings.Join(e.Vouchers, ", "), e.Expires.Format("2 Jan 15:04"))
}

// reload fetches the cache entries in the background.
func (t *cacheTab) reload() {
	var entries []settings.CacheEntry
	t.u.goWork(func(ctx context.Context) (err error) {
		entries, err = t.u.backend.CacheEntries(ctx)
		return err
	}, func(err error) {
		if err != nil {
			t.u.showError("read the cache", err)
			return
		}
		t.all = entries
		t.filter()
	})
}

// filter applies the search text; it runs on the UI goroutine.
func (t *cacheTab) filter() {
	f := strings.ToLower(strings.TrimSpace(t.search.Text))
	t.shown = t.shown[:0]
	for _, e := range t.all {
		if f == "" || strings.Contains(strings.ToLower(cacheLine(e)), f) {
			t.shown = append(t.shown, e)
		}
	}
	switch {
	case len(t.all) == 0:
		t.count.SetText("The cache is empty.")
		t.clear.Disable()
	case len(t.shown) == len(t.all):
		t.count.SetText(fmt.Sprintf("%d cached verdicts", len(t.all)))
		t.clear.Enable()
	default:
		t.count.SetText(fmt.Sprintf("%d of %d cached verdicts match", len(t.shown), len(t.all)))
		t.clear.Enable()
	}
	t.list.Refresh()
}

// remove forgets one cached verdict.
func (t *cacheTab) remove(e settings.CacheEntry) {
	t.u.goWork(func(ctx context.Context) error {
		return t.u.backend.ForgetSite(ctx, verifier.Target{Host: e.Host, Port: e.Port}, "")
	}, func(err error) {
		if err != nil {
			t.u.showError("remove the cached verdict", err)
		}
		t.reload()
	})
}

// confirmClear asks, then clears the whole cache.
func (t *cacheTab) confirmClear() {
	t.u.confirm("Clear the cache?",
		"Every cached verdict will be forgotten; the notaries will be asked again on your next visit to each site. Your trusted certificates (pins) stay.",
		false, func(ok bool) {
			if !ok {
				return
			}
			var n int
			t.u.withProgress("Clearing the cache", func(ctx context.Context) (err error) {
				n, err = t.u.backend.ClearCache(ctx)
				return err
			}, func(err error) {
				if err != nil {
					t.u.showError("clear the cache", err)
					return
				}
				t.count.SetText(fmt.Sprintf("Cleared %d cached verdicts.", n))
				t.reload()
			})
		})
}
