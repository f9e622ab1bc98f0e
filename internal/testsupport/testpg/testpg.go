// Package testpg runs one real PostgreSQL server (Debian's postgresql package) per test
// package, in a temporary directory, listening on a unix socket only, and hands each
// test a database of its own. The server starts at the first Database call, so a test
// binary that needs none (a fuzz worker, a run of other tests) starts none. As root it runs the server as the "postgres" user, since
// PostgreSQL refuses to run as root.
//
//	var pg testpg.Server
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
//	func TestX(t *testing.T) { url := pg.Database(t) ... }
//
// Without the binaries, tests that ask for a database skip with a message, except under
// CI (CI set), where they fail: CI installs them (scripts/deps.sh test).
package testpg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is one PostgreSQL server for a test package. The zero value is ready for Run.
type Server struct {
	dir    string // data directory and socket directory's parent
	sock   string // socket directory
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
	err    error // why there is no server
	ran    bool  // Run was called
	n      atomic.Int64
	bin    string              // the server's binaries
	data   string              // its data directory
	cred   *syscall.Credential // who it runs as (nil: this user)
}

// Run runs the package's tests and then stops the server if one started; its result is
// the exit code for os.Exit.
func (s *Server) Run(m *testing.M) int {
	s.ran = true
	code := m.Run()
	s.stop()
	return code
}

// binDir returns the newest /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("failed to find PostgreSQL: no /usr/lib/postgresql/*/bin/postgres (hint: scripts/deps.sh test, or apt-get install postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func (s *Server) start() error {
	bin, err := binDir()
	if err != nil {
		return err
	}
	base := ""
	if os.Geteuid() == 0 {
		base = "/tmp" // the postgres user must reach it: not under a root-only $TMPDIR
	}
	if s.dir, err = os.MkdirTemp(base, "testpg-"); err != nil {
		return fmt.Errorf("failed to make the server's directory: %w", err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("failed to find the postgres user to run the server as (PostgreSQL refuses root): %w (hint: apt-get install postgresql creates it)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return fmt.Errorf("failed to hand %q to the postgres user: %w", s.dir, err)
		}
	}
	data, sock := filepath.Join(s.dir, "data"), filepath.Join(s.dir, "sock")
	as := func(c *exec.Cmd) *exec.Cmd {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
		c.Dir = s.dir
		return c
	}
	if out, err := as(exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions")).CombinedOutput(); err != nil {
		return fmt.Errorf("failed to initdb: %w: %s", err, out)
	}
	mk := as(exec.Command("mkdir", "-m", "0700", sock))
	if out, err := mk.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to make the socket directory: %w: %s", err, out)
	}
	s.bin, s.data, s.sock, s.cred = bin, data, sock, cred
	return s.launch()
}

// launch starts postgres on the data directory and waits until it accepts connections.
func (s *Server) launch() error {
	bin, data, sock, cred := s.bin, s.data, s.sock, s.cred
	as := func(c *exec.Cmd) *exec.Cmd {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
		c.Dir = s.dir
		return c
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("failed to create the server's log: %w", err)
	}
	defer log.Close()
	// Durability is not what tests measure: no fsync, so the server costs seconds.
	s.cmd = as(exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", sock, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=32MB"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("failed to start postgres: %w", err)
	}
	cmd, exited := s.cmd, make(chan struct{})
	s.exited = exited
	go func() { // ends when the server exits (stop, or a crash)
		_ = cmd.Wait()
		close(exited)
	}()
	// Ready when it accepts a connection: bounded at 60 s, 100 ms apart.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, s.url("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-s.exited:
			out, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
			return fmt.Errorf("failed to start postgres: it exited: %s", out)
		case <-ctx.Done():
			return fmt.Errorf("failed to start postgres: not ready after 60 s: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) url(db string) string {
	q := url.Values{"host": {s.sock}, "user": {"postgres"}}
	return "postgres:///" + db + "?" + q.Encode()
}

func (s *Server) stop() {
	s.halt(syscall.SIGQUIT) // immediate shutdown: the data is thrown away
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// halt stops the server with sig (SIGINT: fast shutdown, which keeps what was
// committed; SIGQUIT: immediate, which under fsync=off may lose it), keeping its data
// directory.
func (s *Server) halt(sig syscall.Signal) {
	if s.cmd != nil && s.cmd.Process != nil && s.exited != nil {
		_ = s.cmd.Process.Signal(sig)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.cmd = nil
	}
}

// Database creates an empty database for t and returns its URL. It skips t when there
// is no server (fails under CI).
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	if !s.ran {
		t.Fatal("testpg: call Run from the package's TestMain, which stops the server")
	}
	s.once.Do(func() { s.err = s.start() })
	if s.err != nil {
		why := s.err
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL for this test: %v", why)
		}
		t.Skipf("no PostgreSQL for this test: %v", why)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.n.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		t.Fatalf("failed to connect to the test server: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 STRATEGY FILE_COPY"); err != nil {
		t.Fatalf("failed to create database %q: %v", name, err)
	}
	return s.url(name)
}

// Own starts a server of t's own, stopped and removed when t ends: for a test that stops
// and starts it (an outage), which the package's shared one must not see.
func Own(t testing.TB) *Server {
	t.Helper()
	s := &Server{ran: true}
	t.Cleanup(s.stop)
	return s
}

// Stop stops the server (a fast shutdown, as systemctl stop does: it ends every
// connection at once), keeping its databases for Start. Connections fail from now on.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		t.Fatal("testpg: Stop of a server that does not run")
	}
	s.halt(syscall.SIGINT)
}

// Start starts again a server Stop stopped, on the same socket and databases, and waits
// until it accepts connections (bounded at 60 s).
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil || s.data == "" {
		t.Fatal("testpg: Start of a server that runs or never ran")
	}
	if err := s.launch(); err != nil {
		t.Fatal(err)
	}
}
