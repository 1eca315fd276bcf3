// Package gotestfiles has tests that need what go test gives a package:
// its testdata directory as the working directory, t.TempDir and
// examples, whose output the testing package captures through a pipe.
package gotestfiles

import "strings"

// Shout upper-cases s.
func Shout(s string) string { return strings.ToUpper(s) }
