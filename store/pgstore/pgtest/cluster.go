package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/internal/testenv"
)

// cluster is one running postgres process and its data folder.
type cluster struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	log    *testenv.SyncBuffer
}

// findBinaries returns the folder holding initdb and postgres: Debian's
// newest /usr/lib/postgresql/<version>/bin, else the PATH. When neither
// has them it returns "" and what is missing.
func findBinaries() (dir, missing string) {
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(versions, func(i, j int) bool { return versionOf(versions[i]) > versionOf(versions[j]) })
	for _, p := range versions {
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, ""
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), ""
		}
	}
	return "", "PostgreSQL server binaries (initdb, postgres in /usr/lib/postgresql/<version>/bin or on PATH)"
}

func versionOf(postgresPath string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(postgresPath))))
	return v
}

// start runs initdb in a fresh temp folder and starts postgres on a free
// loopback port, trusting local connections (nothing but this test binary
// can reach 127.0.0.1 of a throwaway cluster that matters).
func start(bin string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "calsync-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, log: &testenv.SyncBuffer{}}
	ok := false
	defer func() {
		if !ok {
			c.stop()
		}
	}()
	cred, err := unprivileged(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = cred
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	// Durability settings off: the data is thrown away afterwards.
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(c.port),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	c.cmd.SysProcAttr = cred
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c.exited = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	if err := c.waitReady(); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// waitReady waits until the server accepts connections or exits.
func (c *cluster) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited:\n%s", c.log.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 60 s: %w\n%s", err, c.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// stop shuts the server down (SIGINT: PostgreSQL's fast shutdown) and
// removes its folder.
func (c *cluster) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	_ = os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
