package settings

import (
	"context"
	"testing"
	"time"
)

func BenchmarkAddEvent(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.AddEvent(ctx, Event{Kind: "verified", Host: "h.test", Port: 443, Detail: `{"a":1}`}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutCache(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for b.Loop() {
		if err := s.PutCache(ctx, CacheEntry{Host: "h.test", Port: 443, FingerprintSHA256: fp('a'), Vouchers: []string{"n1", "n2", "n3"}, Expires: exp}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupCache(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	if err := s.PutCache(ctx, CacheEntry{Host: "h.test", Port: 443, FingerprintSHA256: fp('a'), Vouchers: []string{"n1", "n2", "n3"}, Expires: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.LookupCache(ctx, "h.test", 443, fp('a'), now); err != nil {
			b.Fatal(err)
		}
	}
}
