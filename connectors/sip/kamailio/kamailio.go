// Package kamailio runs Debian's Kamailio as a throwaway SIP presence
// server on loopback: a temporary folder with a generated configuration
// and db_text tables, a free port for UDP and TCP, the process run as an
// unprivileged user (nobody, when started by root) and removed again by
// Stop. Tests use it through kamailiotest; `calsync demo --sip` and the
// SIP benchmark use it directly.
//
// The configuration is the one docs/operations.md recommends for
// production, reduced to what a presence server needs: digest-authenticated
// PUBLISH, a trusted publisher account that may publish for every user,
// presence and presence_xml without XCAP.
package kamailio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Install is how to get Kamailio and its presence modules on Debian.
const Install = "apt-get install -y kamailio kamailio-presence-modules"

// InstallTLS is how to get Kamailio's TLS module on Debian.
const InstallTLS = "apt-get install -y kamailio-tls-modules"

// Options describe the server to start. Zero values take the defaults.
type Options struct {
	// Domain is the SIP domain (alias and digest realm), default example.test.
	Domain string
	// Publisher and Password are the trusted publisher's account, allowed
	// to publish for every user (default calsync / s3cret).
	Publisher, Password string
	// Accounts are more subscriber accounts (name to password); they may
	// publish only their own presence.
	Accounts map[string]string
	// SharedMemoryMB is Kamailio's shared memory (-m, default 128); ten
	// thousand subscriptions with their NOTIFY transactions need ~512.
	SharedMemoryMB int
	// Children is the number of UDP worker processes (default 4);
	// TCP and TLS get half as many, at least 2.
	Children int
	// TLSCert and TLSKey (PEM), when set, make the server listen for TLS
	// too (TLSAddr) with this certificate; it asks no client certificate.
	TLSCert, TLSKey []byte
}

// Server is one running Kamailio.
type Server struct {
	// Addr is host:port of both the UDP and the TCP listener.
	Addr string
	// TLSAddr is host:port of the TLS listener (Options.TLSCert), else "".
	TLSAddr   string
	Domain    string
	Publisher string
	Password  string

	bin, dir string
	port     int
	shm      int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *logBuffer
}

// Binary returns the path of the kamailio executable and whether the
// presence modules are installed, or an error saying what is missing.
func Binary() (string, error) {
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/kamailio"); serr != nil {
			return "", errors.New("kamailio is not installed")
		}
		bin = "/usr/sbin/kamailio"
	}
	if _, err := findModuleDir(); err != nil {
		return "", err
	}
	return bin, nil
}

// Start writes the configuration into a new temporary folder and starts
// Kamailio; it returns when the server answers OPTIONS.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	moduleDir, _ := findModuleDir()
	if opts.Domain == "" {
		opts.Domain = "example.test"
	}
	if opts.Publisher == "" {
		opts.Publisher, opts.Password = "calsync", "s3cret"
	}
	accounts := map[string]string{opts.Publisher: opts.Password}
	for n, p := range opts.Accounts {
		accounts[n] = p
	}
	dir, err := os.MkdirTemp("", "calsync-kamailio-")
	if err != nil {
		return nil, err
	}
	if opts.SharedMemoryMB <= 0 {
		opts.SharedMemoryMB = 128
	}
	if opts.Children <= 0 {
		opts.Children = 4
	}
	s := &Server{Domain: opts.Domain, Publisher: opts.Publisher, Password: opts.Password, bin: bin, dir: dir,
		shm: opts.SharedMemoryMB, log: &logBuffer{}}
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		return nil, err
	}
	tlsPort := 0
	if opts.TLSCert != nil {
		if tlsPort, err = s.writeTLS(opts.TLSCert, opts.TLSKey); err != nil {
			return nil, err
		}
		s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
	}
	if err := writeDB(dir, opts.Domain, accounts); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(configText(dir, moduleDir, opts.Domain, opts.Publisher, s.port, tlsPort, opts.Children)), 0o644); err != nil {
		return nil, err
	}
	if err := giveAway(dir); err != nil {
		return nil, err
	}
	if out, err := s.command("-c", "-f", cfg).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kamailio -c (configuration check): %w\n%s", err, out)
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// command builds a kamailio invocation run as the unprivileged user.
func (s *Server) command(args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = procAttr()
	return cmd
}

// start runs the server in the foreground (-DD: no daemon, children still
// fork) and waits until it answers.
func (s *Server) start(ctx context.Context) error {
	cmd := s.command("-f", filepath.Join(s.dir, "kamailio.cfg"), "-DD", "-E",
		"-Y", filepath.Join(s.dir, "run"), "-w", s.dir, "-m", strconv.Itoa(s.shm), "-M", "16")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kamailio: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("kamailio exited at start:\n%s", s.log.String())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if err := ping(s.Addr); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("kamailio did not answer OPTIONS within 30 s: %w\n%s", err, s.log.String())
		}
	}
}

// stopProcess ends the running process: SIGTERM to its process group,
// SIGKILL after 10 s.
func (s *Server) stopProcess() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	signalGroup(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// Restart stops the server and starts it again on the same port, as an
// administrator's restart: publications and subscriptions, kept in
// memory, are gone.
func (s *Server) Restart(ctx context.Context) error {
	s.stopProcess()
	return s.start(ctx)
}

// Down stops the server without removing its folder, for tests of a
// server that is away; Up starts it again.
func (s *Server) Down() { s.stopProcess() }

// Up starts a server stopped by Down.
func (s *Server) Up(ctx context.Context) error { return s.start(ctx) }

// Stop ends the server and removes its folder.
func (s *Server) Stop() error {
	s.stopProcess()
	return os.RemoveAll(s.dir)
}

// Log returns what Kamailio wrote so far.
func (s *Server) Log() string { return s.log.String() }

// RPC runs a Kamailio RPC command over the control socket (kamcmd) and
// returns its output.
func (s *Server) RPC(ctx context.Context, args ...string) (string, error) {
	kamcmd := filepath.Join(filepath.Dir(s.bin), "kamcmd")
	full := append([]string{"-s", "unix:" + filepath.Join(s.dir, "run", "kamailio_ctl")}, args...)
	out, err := exec.CommandContext(ctx, kamcmd, full...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kamcmd %v: %w: %s", args, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// freePort returns a loopback port free for both TCP and UDP.
func freePort() (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()
			return port, nil
		}
	}
	return 0, errors.New("no loopback port free for both TCP and UDP")
}

// logBuffer collects the server's output for error messages.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Publications returns how many publications the server keeps per
// presentity (user@domain), from the presence.presentity_list RPC. More
// than one for a presentity means parallel publications.
func (s *Server) Publications(ctx context.Context) (map[string]int, error) {
	tags, err := s.Tags(ctx)
	if err != nil {
		return nil, err
	}
	count := make(map[string]int, len(tags))
	for p, l := range tags {
		count[p] = len(l)
	}
	return count, nil
}

// Tags returns the entity tags of the publications the server keeps per
// presentity (user@domain), from the presence.presentity_list RPC.
func (s *Server) Tags(ctx context.Context) (map[string][]string, error) {
	out, err := s.RPC(ctx, "presence.presentity_list")
	if err != nil {
		return nil, err
	}
	tags := map[string][]string{}
	var user, domain string
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		// Each publication lists user, domain, event, etag in this order.
		switch strings.TrimSpace(k) {
		case "user":
			user = v
		case "domain":
			domain = v
		case "etag":
			tags[user+"@"+domain] = append(tags[user+"@"+domain], v)
		}
	}
	return tags, nil
}
