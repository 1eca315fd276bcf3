// Package pass has tests that pass, for "gometal test".
package pass

// Sum returns a + b.
func Sum(a, b int) int { return a + b }
