// Package buildinfo reports calsync's version: the one set at link time with
// -ldflags "-X github.com/calsync/calsync/internal/buildinfo.Version=v1.2.3",
// else the module version the Go toolchain recorded (`go install
// github.com/calsync/calsync/cmd/calsync@v1.2.3` records v1.2.3; `go build`
// in a checkout records a pseudo-version), with the VCS revision, its time
// and whether the tree was modified.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the release version; "dev" unless set at link time.
var Version = "dev"

// String returns a one-line description: version, revision, Go version,
// platform.
func String() string {
	info, _ := debug.ReadBuildInfo()
	return describe(Version, info)
}

// describe is String for a given link-time version and build information
// (nil when the binary carries none).
func describe(version string, info *debug.BuildInfo) string {
	goVersion := runtime.Version()
	var details []string
	if info != nil {
		if v := info.Main.Version; version == "dev" && v != "" && v != "(devel)" {
			version = v
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		details = vcs(info.Settings)
	}
	out := "calsync " + version
	if len(details) > 0 {
		out += " (" + strings.Join(details, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, goVersion, runtime.GOOS, runtime.GOARCH)
}

// vcs describes the revision the binary was built from: "revision
// 0123456789ab", its commit time, "modified" for a dirty tree.
func vcs(settings []debug.BuildSetting) []string {
	var rev, at string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return nil
	}
	out := []string{"revision " + rev[:min(12, len(rev))]}
	if at != "" {
		out = append(out, at)
	}
	if modified {
		out = append(out, "modified")
	}
	return out
}
