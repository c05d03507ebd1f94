package clusterrig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BinaryEnv names a calsync executable to use instead of building one
// (a CI step that built it already, or a release binary to test).
const BinaryEnv = "CALSYNC_BINARY"

// Build compiles calsync (this module's cmd/calsync, without -race: the
// instances of a test cluster must not be five times slower than a real
// one; static, CGO_ENABLED=0, as the release build) into dir and returns its path; with $CALSYNC_BINARY set it returns
// that instead. It needs the go command and runs in the current working
// directory, which must be inside the module (a test's is).
func Build(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil && os.Getenv("GOROOT") != "" {
		goCmd, err = filepath.Join(os.Getenv("GOROOT"), "bin", "go"), nil
	}
	if err != nil {
		return "", fmt.Errorf("clusterrig: building calsync needs the go command on PATH (or $%s): %w", BinaryEnv, err)
	}
	out := filepath.Join(dir, "calsync")
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", out, "github.com/calsync/calsync/cmd/calsync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("clusterrig: go build calsync: %w\n%s", err, b)
	}
	return out, nil
}
