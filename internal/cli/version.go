// `calsync version`.

package cli

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/internal/buildinfo"
)

func runVersion(_ context.Context, env Env, _ []string) int {
	fmt.Fprintln(env.Stdout, buildinfo.String())
	return 0
}
