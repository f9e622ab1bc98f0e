package settings

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// keyringAPI is the part of go-keyring we use: the seam tests replace, since
// go-keyring's own mock (keyring.MockInit) is process-wide and cannot be undone.
type keyringAPI interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// systemKeyring is the OS keyring: Secret Service over D-Bus on Linux, Keychain on
// macOS, Credential Manager on Windows.
type systemKeyring struct{}

// Each call first checks that a session bus exists, so that no bus is autolaunched.

func (systemKeyring) Set(service, user, password string) error {
	if err := sessionBusAvailable(); err != nil {
		return err
	}
	return keyring.Set(service, user, password)
}

func (systemKeyring) Get(service, user string) (string, error) {
	if err := sessionBusAvailable(); err != nil {
		return "", err
	}
	return keyring.Get(service, user)
}

func (systemKeyring) Delete(service, user string) error {
	if err := sessionBusAvailable(); err != nil {
		return err
	}
	return keyring.Delete(service, user)
}

// keyringTimeout bounds each keyring call: on Linux a locked collection can wait for
// an unlock prompt that never comes (no display), and go-keyring takes no context.
const keyringTimeout = 10 * time.Second

// errKeyringTimeout is the cause when a keyring call did not return in time.
var errKeyringTimeout = errors.New("the keyring did not answer in time (locked, or waiting for an unlock prompt)")

// keyringSecrets keeps each secret as one keyring item (service, name), base64-encoded
// because keyrings store strings.
type keyringSecrets struct {
	kr      keyringAPI
	service string
	timeout time.Duration
}

// NewKeyringSecrets returns Secrets kept in the OS keyring under service. It does not
// check that the keyring works: OpenSecrets does. Each call gives up after 10s, so a
// locked keyring makes calls fail instead of hanging. Safe for concurrent use.
func NewKeyringSecrets(service string) Secrets {
	return &keyringSecrets{kr: systemKeyring{}, service: service, timeout: keyringTimeout}
}

// callWithTimeout runs fn with a deadline. When the deadline passes, fn's goroutine
// is left to end when the keyring call returns (its result goes into a buffered
// channel, so it never blocks); go-keyring offers no way to cancel the call.
func callWithTimeout[T any](timeout time.Duration, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, errKeyringTimeout
	}
}

// Get implements Secrets.
func (k *keyringSecrets) Get(name string) ([]byte, error) {
	s, err := callWithTimeout(k.timeout, func() (string, error) { return k.kr.Get(k.service, name) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrSecretNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get secret %q from the keyring: %w", name, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("failed to decode secret %q from the keyring: %w", name, err)
	}
	return b, nil
}

// Set implements Secrets.
func (k *keyringSecrets) Set(name string, value []byte) error {
	enc := base64.StdEncoding.EncodeToString(value)
	_, err := callWithTimeout(k.timeout, func() (struct{}, error) { return struct{}{}, k.kr.Set(k.service, name, enc) })
	if err != nil {
		return fmt.Errorf("failed to store secret %q in the keyring: %w", name, err)
	}
	return nil
}

// Delete implements Secrets.
func (k *keyringSecrets) Delete(name string) error {
	_, err := callWithTimeout(k.timeout, func() (struct{}, error) { return struct{}{}, k.kr.Delete(k.service, name) })
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("failed to delete secret %q from the keyring: %w", name, err)
	}
	return nil
}
