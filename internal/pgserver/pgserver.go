// Package pgserver runs a throwaway PostgreSQL server: initdb in a temp
// folder, postgres on a free loopback port with its unix socket in that
// folder, durability off, run as the user nobody when the caller is root
// (PostgreSQL refuses to run as root), everything removed by Stop.
//
// Tests get it through store/pgstore/pgtest (one server per test binary,
// a database per test); internal/clusterrig and `calsync demo --cluster`
// start one directly.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/internal/procgroup"
)

// Install is how to get the server binaries on Debian.
const Install = "apt-get install -y postgresql"

// Server is one running postgres process and its data folder. Its
// methods are safe for concurrent use.
type Server struct {
	bin  string
	dir  string
	port int
	cred *syscall.SysProcAttr
	log  *logBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Binaries returns the folder holding initdb and postgres: Debian's
// newest /usr/lib/postgresql/<version>/bin, else the PATH. When neither
// has them the error names what is missing (Install says how to get it).
func Binaries() (string, error) {
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(versions, func(i, j int) bool { return versionOf(versions[i]) > versionOf(versions[j]) })
	for _, p := range versions {
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres in /usr/lib/postgresql/<version>/bin or on PATH)")
}

func versionOf(postgresPath string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(postgresPath))))
	return v
}

// Start runs initdb in a fresh temp folder and starts postgres from bin
// (Binaries) on a free loopback port, trusting local connections (nothing
// but the caller can reach 127.0.0.1 of a throwaway server that matters).
func Start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "calsync-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, log: &logBuffer{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if s.cred, err = unprivileged(dir); err != nil {
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = s.cred
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.port, err = FreePort(); err != nil {
		return nil, err
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run starts postgres on the server's folder and port and waits until it
// accepts connections.
func (s *Server) run() error {
	// Durability settings off: the data is thrown away afterwards.
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data(), "-p", strconv.Itoa(s.port),
		"-k", s.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.SysProcAttr = procgroup.Attr(s.cred)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return s.waitReady(exited)
}

// waitReady waits until the server accepts connections or exits.
func (s *Server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("postgres exited:\n%s", s.log.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 60 s: %w\n%s", err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond) // polling interval of the start
	}
}

// URL is the connection URL of database db (user postgres, no password).
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Log returns the server's recent output (for failure messages).
func (s *Server) Log() string { return s.log.String() }

// CreateDatabase creates an empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := s.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Exec runs one statement as the superuser on the postgres database.
func (s *Server) Exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// Restart shuts the server down (fast shutdown: every connection is
// cut) and starts it again on the same port and data: what clients see
// of a database restart.
func (s *Server) Restart() error {
	s.shutdown()
	return s.run()
}

// Stop shuts the server down and removes its folder.
func (s *Server) Stop() {
	s.shutdown()
	_ = os.RemoveAll(s.dir)
}

// shutdown ends the running postgres (SIGINT: PostgreSQL's fast
// shutdown; SIGKILL to its process group after 30 s).
func (s *Server) shutdown() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = procgroup.Kill(cmd.Process)
		<-exited
	}
}

// FreePort returns a loopback TCP port free at the moment (for a server
// that must be given its port, and keep it across restarts).
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// logBuffer keeps the last logLimit bytes written: a server that runs
// for a whole demo must not grow memory with its log.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const logLimit = 64 << 10

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - logLimit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
