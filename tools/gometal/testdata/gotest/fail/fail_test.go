// Package fail has one test that passes and one that fails, for
// "gometal test".
package fail

import "testing"

func TestGood(t *testing.T) {}

func TestBad(t *testing.T) {
	t.Error("bad result")
}
