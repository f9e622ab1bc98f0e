package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// runFile serves one file over plain HTTP at one path, read again for every request
// (the test changes it between requests), on every --listen address until ctx ends:
// a notary directory's server.
func runFile(ctx context.Context, args []string) error {
	var listen listFlag
	fs := flag.NewFlagSet("labpeer file", flag.ContinueOnError)
	fs.Var(&listen, "listen", "`ADDR` to serve on (repeatable)")
	path := fs.String("path", "/", "the URL `PATH` the file is served at")
	file := fs.String("file", "", "the `FILE` to serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(listen) == 0 || *file == "" {
		return errors.New("file needs --listen and --file")
	}
	mux := http.NewServeMux()
	mux.HandleFunc(*path, func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(*file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(data)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	context.AfterFunc(ctx, func() { srv.Close() })
	errs := make(chan error, len(listen))
	for _, a := range listen {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("failed to listen on %q: %w", a, err)
		}
		fmt.Printf("listening %s\n", ln.Addr())
		go func() { errs <- srv.Serve(ln) }() // ends when ctx closes the server
	}
	<-ctx.Done()
	for range listen {
		<-errs
	}
	return ctx.Err()
}
