package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTerminalSetFromTwoProcessesLosesNothing: two `convergence set` commands for
// different settings run at the same time, 100 rounds, each round the other way round.
// Each process reads, changes and stores its key inside one write transaction, so
// neither undoes the other (issue 20: with a read, then a save of every setting, one
// change was lost in about a third of the rounds). It needs no root: the real binary
// on a data dir of its own, no namespace, no session bus (the keyring is not used).
func TestTerminalSetFromTwoProcessesLosesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DBUS_SESSION_BUS_ADDRESS=") {
			env = append(env, e)
		}
	}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins.app, append([]string{"--data-dir", dir}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("convergence %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	if _, err := run("settings"); err != nil { // makes the store once
		t.Fatal(err)
	}
	onOff := map[bool]string{true: "on", false: "off"}
	const rounds = 100
	lost := 0
	for round := range rounds {
		want := round%2 == 0
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { _, errs[0] = run("set", "paused", onOff[want]) })
		wg.Go(func() { _, errs[1] = run("set", "exempt-private", onOff[want]) })
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		out, err := run("settings")
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"paused", "exempt-private"} {
			if !settingIs(out, key, onOff[want]) {
				lost++
				t.Errorf("round %d: %s is not %s after both commands said done:\n%s", round, key, onOff[want], out)
			}
		}
		if lost > 5 {
			t.Fatalf("%d changes lost in %d rounds; stopping", lost, round+1)
		}
	}
}

// settingIs reports whether the `convergence settings` table says key = value.
func settingIs(table, key, value string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key {
			return f[1] == value
		}
	}
	return false
}
