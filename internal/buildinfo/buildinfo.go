// Package buildinfo reports calsync's version: the one set at link time with
// -ldflags "-X github.com/calsync/calsync/internal/buildinfo.Version=v1.2.3",
// else the module version the Go toolchain recorded (`go install
// github.com/calsync/calsync/cmd/calsync@v1.2.3` records v1.2.3; `go build`
// in a checkout records a pseudo-version), with the VCS revision, its time
// and whether the tree was modified, and whether the binary was built with
// cgo (the release build is static: CGO_ENABLED=0, docs/operations.md §5).
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
// platform, cgo setting.
func String() string {
	info, _ := debug.ReadBuildInfo()
	return describe(Version, info)
}

// describe is String for a given link-time version and build information
// (nil when the binary carries none).
func describe(version string, info *debug.BuildInfo) string {
	goVersion := runtime.Version()
	var details []string
	cgo := ""
	if info != nil {
		if v := info.Main.Version; version == "dev" && v != "" && v != "(devel)" {
			version = v
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		details = vcs(info.Settings)
		if v, ok := setting(info.Settings, "CGO_ENABLED"); ok {
			cgo = " CGO_ENABLED=" + v
		}
	}
	out := "calsync " + version
	if len(details) > 0 {
		out += " (" + strings.Join(details, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s/%s%s", out, goVersion, runtime.GOOS, runtime.GOARCH, cgo)
}

// Cgo returns the binary's CGO_ENABLED build setting: "0" for the static
// release build, "1" for a build that links the C library (on Linux
// dynamically: libc and the dynamic loader are mapped into the process,
// 2–6 MiB more resident memory, docs/BENCHMARKS.md), "" when the binary
// carries no build information.
//
// Why it is reported: `go build` links with cgo wherever a C compiler is
// installed, so two builds of one commit can differ in their memory
// figures; `calsync version` and the bench say which one runs.
func Cgo() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v, _ := setting(info.Settings, "CGO_ENABLED")
	return v
}

// setting returns the value of the build setting key.
func setting(settings []debug.BuildSetting, key string) (string, bool) {
	for _, s := range settings {
		if s.Key == key {
			return s.Value, true
		}
	}
	return "", false
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
