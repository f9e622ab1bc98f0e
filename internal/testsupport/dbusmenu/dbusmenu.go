// Package dbusmenu reads and clicks a tray item's menu over D-Bus
// (com.canonical.dbusmenu), as a desktop shell does; for the tests of the tray.
package dbusmenu

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// menuPath is where the systray library exports an item's menu.
const menuPath = dbus.ObjectPath("/StatusNotifierMenu")

// Item is one entry of a menu's top level.
type Item struct {
	ID    int32
	Label string
}

// Layout reads the top level of the menu that the bus name dest exports.
func Layout(ctx context.Context, conn *dbus.Conn, dest string) ([]Item, error) {
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	err := conn.Object(dest, menuPath).CallWithContext(ctx, "com.canonical.dbusmenu.GetLayout", 0,
		int32(0), int32(-1), []string{}).Store(&rev, &root)
	if err != nil {
		return nil, fmt.Errorf("failed to read the menu of %s: %w", dest, err)
	}
	var out []Item
	for _, c := range root.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) < 2 {
			return nil, fmt.Errorf("failed to read the menu of %s: child %v is not (id, props, children)", dest, c)
		}
		id, _ := fields[0].(int32)
		props, _ := fields[1].(map[string]dbus.Variant)
		label, _ := props["label"].Value().(string)
		out = append(out, Item{id, label})
	}
	return out, nil
}

// Labels lists the items' labels, in order.
func Labels(items []Item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.Label)
	}
	return out
}

// Click clicks the item with label, as found in the menu now.
func Click(ctx context.Context, conn *dbus.Conn, dest, label string) error {
	items, err := Layout(ctx, conn, dest)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Label == label {
			err := conn.Object(dest, menuPath).CallWithContext(ctx, "com.canonical.dbusmenu.Event", 0,
				it.ID, "clicked", dbus.MakeVariant(int32(0)), uint32(0)).Err
			if err != nil {
				return fmt.Errorf("failed to click %q in the menu of %s: %w", label, dest, err)
			}
			return nil
		}
	}
	return fmt.Errorf("failed to click %q in the menu of %s: no such item in %q", label, dest, Labels(items))
}

// WaitFor reads the menu every 100 ms until cond holds on its labels, and returns it; at
// ctx's end it returns the last labels read with the error.
func WaitFor(ctx context.Context, conn *dbus.Conn, dest string, cond func(labels []string) bool) ([]Item, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last []Item
	for {
		items, err := Layout(ctx, conn, dest)
		if err == nil {
			if cond(Labels(items)) {
				return items, nil
			}
			last = items
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the menu of %s never matched (last read: %q, %v): %w", dest, Labels(last), err, ctx.Err())
		case <-tick.C:
		}
	}
}
