package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// Request is one line of the record file: what a peer received.
type Request struct {
	Label  string `json:"label"`
	Method string `json:"method"`
	Host   string `json:"host"`
	Path   string `json:"path"`
	SNI    string `json:"sni,omitempty"`
	Body   string `json:"body,omitempty"`
}

// recorder appends one JSON line per request to a file. Safe for concurrent use.
type recorder struct {
	mu sync.Mutex // protects f
	f  *os.File
}

func openRecorder(path string) (*recorder, error) {
	if path == "" {
		return &recorder{}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open record file: %w", err)
	}
	return &recorder{f: f}, nil
}

// record reads the request body (at most 64 KiB) and writes a line for it.
func (r *recorder) record(label string, req *http.Request) []byte {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 64<<10))
	line := Request{Label: label, Method: req.Method, Host: req.Host, Path: req.URL.Path, Body: string(body)}
	if req.TLS != nil {
		line.SNI = req.TLS.ServerName
	}
	data, _ := json.Marshal(line)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		_, _ = r.f.Write(append(data, '\n'))
	}
	return body
}

func (r *recorder) close() {
	if r.f != nil {
		_ = r.f.Close()
	}
}
