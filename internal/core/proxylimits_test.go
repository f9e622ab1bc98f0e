package core

import (
	"context"
	"testing"
	"time"

	"github.com/convergence-ng/convergence/localproxy"
	"github.com/convergence-ng/convergence/settings"
)

// TestProxyIdleTimeoutSetting: the proxy runs the idle timeout of the settings, read
// at start; 0 takes the proxy's default (1 h).
func TestProxyIdleTimeoutSetting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir, secrets := t.TempDir(), settings.NewMemorySecrets() // the CA key outlives the first Open
	open := func() *Core {
		t.Helper()
		c, err := Open(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Secrets: secrets})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := open()
	if got := c.Proxy.Limits().IdleTimeout; got != localproxy.DefaultIdleTimeout {
		t.Errorf("idle timeout with the default setting: %s, want %s", got, localproxy.DefaultIdleTimeout)
	}
	if _, err := c.UpdateSettings(ctx, func(s *settings.Settings) error { s.ProxyIdleTimeout = 3 * time.Hour; return nil }); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = open()
	defer c.Close()
	if got := c.Proxy.Limits().IdleTimeout; got != 3*time.Hour {
		t.Errorf("idle timeout after setting 3h and a restart: %s", got)
	}
}
