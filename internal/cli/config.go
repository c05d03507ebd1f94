// `calsync config validate FILE`.

package cli

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/config"
)

func runConfig(_ context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(env.Stderr, "Usage: calsync config validate FILE\n\nChecks a calsync YAML file or a vendor CalendarSyncExchange.config.xml and reports every problem with file, line and column.")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	if len(args) != 2 {
		fmt.Fprintln(env.Stderr, "Usage: calsync config validate FILE")
		return 2
	}
	v := config.Validate(args[1])
	fmt.Fprint(env.Stdout, v)
	if !v.OK() {
		return 1
	}
	return 0
}
