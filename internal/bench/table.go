package bench

import (
	"fmt"
	"io"
)

// table writes the head of a Markdown table with one column per result
// (head names it, corner names the metric column) and returns the function
// that writes one metric's row. Every mode's Write…Table prints its
// results this way.
func table[R any](w io.Writer, corner string, rs []R, head func(R) string) func(name string, cell func(R) string) {
	fmt.Fprintf(w, "| %s |", corner)
	for _, r := range rs {
		fmt.Fprintf(w, " %s |", head(r))
	}
	fmt.Fprint(w, "\n|---|")
	for range rs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	return func(name string, cell func(R) string) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range rs {
			fmt.Fprintf(w, " %s |", cell(r))
		}
		fmt.Fprintln(w)
	}
}
