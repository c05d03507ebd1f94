package ewsschema

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"

	"github.com/calsync/calsync/internal/testenv"
)

// serveSource is the long-lived validator (see serve.py for why it exists).
//
//go:embed serve.py
var serveSource string

// envelopeFile is one validator input: a label that names it in the report
// and its bytes (one or more concatenated envelopes).
type envelopeFile struct {
	Label string `json:"label"`
	Data  []byte `json:"data"` // base64 in JSON, as serve.py decodes it
}

// server is one python process that compiled the schema once and validates
// every request of this test binary. Requests are serialised: one is a few
// milliseconds.
type server struct {
	mu     sync.Mutex
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *testenv.SyncBuffer // exec copies into it from its own goroutine
	err    error               // set once the process is unusable
}

// errNoLxml means the long-lived validator cannot run (python3-lxml is not
// installed); callers fall back to the one-shot validator script.
var errNoLxml = errors.New("python3-lxml is missing")

var (
	sharedOnce   sync.Once
	sharedServer *server
	sharedErr    error
)

// shared returns the process-wide server, starting it on first use. The
// process ends when the test binary does (its stdin closes).
func shared(python, validator string) (*server, error) {
	sharedOnce.Do(func() { sharedServer, sharedErr = start(python, validator) })
	return sharedServer, sharedErr
}

func start(python, validator string) (*server, error) {
	cmd := exec.Command(python, "-c", serveSource, validator)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{stdin: stdin, stdout: bufio.NewReader(stdout), stderr: &testenv.SyncBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the EWS schema validator: %w", err)
	}
	var hello struct {
		Ready   bool   `json:"ready"`
		Missing bool   `json:"missing"`
		Error   string `json:"error"`
	}
	if err := s.read(&hello); err != nil {
		return nil, err
	}
	switch {
	case hello.Ready:
		return s, nil
	case hello.Missing:
		return nil, fmt.Errorf("%w (%s)", errNoLxml, hello.Error)
	default:
		return nil, fmt.Errorf("the EWS schema validator could not load the schema: %s", hello.Error)
	}
}

// validate checks files and returns the number of failed elements and the
// validator's report (FAIL and SKIP lines, then a summary).
func (s *server) validate(files []envelopeFile) (failed int, report string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, "", s.err
	}
	req, err := json.Marshal(struct {
		Files []envelopeFile `json:"files"`
	}{files})
	if err != nil {
		return 0, "", err
	}
	if _, err := s.stdin.Write(append(req, '\n')); err != nil {
		s.err = fmt.Errorf("the EWS schema validator is gone: %w; its stderr: %s", err, s.stderr)
		return 0, "", s.err
	}
	var resp struct {
		Failed int    `json:"failed"`
		Report string `json:"report"`
	}
	if err := s.read(&resp); err != nil {
		s.err = err
		return 0, "", err
	}
	return resp.Failed, resp.Report, nil
}

func (s *server) read(v any) error {
	line, err := s.stdout.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("the EWS schema validator ended: %w; its stderr: %s", err, s.stderr)
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("the EWS schema validator answered %q: %w", line, err)
	}
	return nil
}
