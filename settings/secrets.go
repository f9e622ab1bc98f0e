package settings

import (
	"errors"
	"sync"
)

// ErrSecretNotFound is returned by Secrets.Get when no secret has the name.
var ErrSecretNotFound = errors.New("secret not found")

// Secrets keeps small secrets such as the local CA's private key. Implementations are
// safe for concurrent use.
type Secrets interface {
	// Get returns the secret stored under name, or ErrSecretNotFound.
	Get(name string) ([]byte, error)
	// Set stores value under name, replacing any earlier value.
	Set(name string, value []byte) error
	// Delete removes the secret; deleting a missing secret is not an error.
	Delete(name string) error
}

// MemorySecrets keeps secrets in memory only; for tests and throw-away runs.
type MemorySecrets struct {
	mu sync.Mutex // protects m
	m  map[string][]byte
}

// NewMemorySecrets returns an empty in-memory secret store.
func NewMemorySecrets() *MemorySecrets { return &MemorySecrets{m: map[string][]byte{}} }

// Get implements Secrets.
func (s *MemorySecrets) Get(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	if !ok {
		return nil, ErrSecretNotFound
	}
	return append([]byte(nil), v...), nil
}

// Set implements Secrets.
func (s *MemorySecrets) Set(name string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = append([]byte(nil), value...)
	return nil
}

// Delete implements Secrets.
func (s *MemorySecrets) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
	return nil
}
