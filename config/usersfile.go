package config

import (
	"os"

	"go.yaml.in/yaml/v3"
)

// usersCSVFile checks users.csv_file like any referenced file, except that
// a missing file is a warning: the directory being unavailable at start
// (the file not there yet, a share not mounted) is not a configuration
// error, because calsync then syncs the last good user list kept in its
// store and reads the file again every 30 s. The path is returned either
// way.
func (d *decoder) usersCSVFile(path string, n *yaml.Node) string {
	s, ok := d.scalar(path, n, "a file path")
	if ok && s != "" {
		if _, err := d.stat(d.resolvePath(s)); err != nil && os.IsNotExist(err) {
			d.warnf(n, path, "file %s does not exist; calsync starts with the last good user list kept in its store (a first start fails) and reads the file again every 30 s", d.resolvePath(s))
			return d.resolvePath(s)
		}
	}
	p, _ := d.existingFile(path, n)
	return p
}
