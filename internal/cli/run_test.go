package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
)

// TestRunRejectsAStrayArgument: "calsync run calsync.yaml" (without
// --config) must not silently load the default config file.
func TestRunRejectsAStrayArgument(t *testing.T) {
	var stdout, stderr testenv.SyncBuffer
	code := Main(context.Background(), Env{Args: []string{"run", "calsync.yaml"}, Stdout: &stdout, Stderr: &stderr})
	if code != 2 {
		t.Errorf("run calsync.yaml exited %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `unexpected argument "calsync.yaml"; give the config file with --config FILE`) {
		t.Errorf("stderr does not explain the stray argument:\n%s", stderr.String())
	}
}
