package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	vcsSettings := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "fbe3d9e1b2c3d4e5f60718293a4b5c6d7e8f9012"},
		{Key: "vcs.time", Value: "2026-12-07T04:14:19Z"}, {Key: "vcs.modified", Value: "true"}}
	tests := []struct {
		name    string
		version string
		info    *debug.BuildInfo
		want    string
	}{
		{"go install module@version", "dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}},
			"calsync v1.4.0 go1.26.0 "},
		{"go build in a checkout", "dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261207041419-fbe3d9e1b2c3+dirty"}, Settings: vcsSettings},
			"calsync v0.0.0-20261207041419-fbe3d9e1b2c3+dirty (revision fbe3d9e1b2c3, 2026-12-07T04:14:19Z, modified) go1.26.0 "},
		{"go build without a module version", "dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: vcsSettings[:2]},
			"calsync dev (revision fbe3d9e1b2c3) go1.26.0 "},
		{"link-time version wins", "v2.0.0", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}},
			"calsync v2.0.0 go1.26.0 "},
		{"no build information", "dev", nil, "calsync dev go"},
	}
	for _, tc := range tests {
		if got := describe(tc.version, tc.info); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: describe = %q, want it to start with %q", tc.name, got, tc.want)
		}
	}
}

// TestDescribeNamesTheCgoSetting: a static (CGO_ENABLED=0) and a cgo build
// of one commit differ by megabytes of resident memory; the line says which
// one runs, last, and nothing when the build did not record it.
func TestDescribeNamesTheCgoSetting(t *testing.T) {
	for _, v := range []string{"0", "1"} {
		info := &debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{{Key: "-compiler", Value: "gc"}, {Key: "CGO_ENABLED", Value: v}, {Key: "GOARCH", Value: "amd64"}}}
		if got := describe("dev", info); !strings.HasSuffix(got, " CGO_ENABLED="+v) {
			t.Errorf("CGO_ENABLED=%s: describe = %q, want it to end with the setting", v, got)
		}
	}
	if got := describe("dev", &debug.BuildInfo{GoVersion: "go1.26.0"}); strings.Contains(got, "CGO") {
		t.Errorf("no cgo setting recorded: describe = %q, want no CGO_ENABLED", got)
	}
}

// TestCgoIsTheTestBinarysSetting: Cgo reads the running binary's setting
// (the race detector's test binary is built with cgo, any other either way).
func TestCgoIsTheTestBinarysSetting(t *testing.T) {
	if c := Cgo(); c != "0" && c != "1" {
		t.Errorf("Cgo() = %q, want 0 or 1", c)
	}
	if !strings.HasSuffix(String(), " CGO_ENABLED="+Cgo()) {
		t.Errorf("String() = %q, want it to end with CGO_ENABLED=%s", String(), Cgo())
	}
}

// TestStringNamesTheToolchain: the test binary has build information; the
// line names the Go version and platform whatever the module version is.
func TestStringNamesTheToolchain(t *testing.T) {
	if s := String(); !strings.HasPrefix(s, "calsync ") || !strings.Contains(s, " go1.") {
		t.Errorf("String() = %q", s)
	}
}
