// Package lib is a library with a test, for test-binary images.
package lib

// Double returns 2n.
func Double(n int) int { return 2 * n }
