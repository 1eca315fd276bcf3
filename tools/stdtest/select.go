package stdtest

import (
	"fmt"
	"slices"

	"github.com/gometal/gometal/tools/conformance"
)

// Select keeps the packages of list named in only (all when only is
// empty), then the shard's part of those: every N-th starting at the
// K-th. A name in only that is not in list is an error, so that a typo
// does not make an empty report.
func Select(list, only []string, sh conformance.Shard) ([]string, error) {
	for _, p := range only {
		if !slices.Contains(list, p) {
			return nil, fmt.Errorf("package %s is not in the list (tools/stdtest/packages.go)", p)
		}
	}
	var out []string
	i := 0
	for _, p := range list {
		if len(only) > 0 && !slices.Contains(only, p) {
			continue
		}
		if i%sh.N == sh.K-1 {
			out = append(out, p)
		}
		i++
	}
	return out, nil
}
