package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"
)

// runPortal plays a captive portal's web server on plain HTTP: it answers every
// request with a redirect to its sign-in page (--to), as hotel and train networks do
// until the user signs in. It serves until ctx ends.
func runPortal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("labpeer portal", flag.ContinueOnError)
	listen := fs.String("listen", "", "`ADDR` to serve plain HTTP on")
	to := fs.String("to", "", "the sign-in page's `URL` every request is redirected to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen == "" || *to == "" {
		return fmt.Errorf("portal needs --listen and --to")
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("request %s %s%s\n", r.Method, r.Host, r.URL.Path)
		http.Redirect(w, r, *to, http.StatusFound)
	})}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %q: %w", *listen, err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }() // ends at Shutdown below
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return ctx.Err()
}
