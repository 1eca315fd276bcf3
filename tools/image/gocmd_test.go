package image

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestQuoteArgs: words with spaces, quotes or nothing in them are quoted,
// the others kept as they are, so that the go command splits a -gcflags
// value back into the same words.
func TestQuoteArgs(t *testing.T) {
	assert.Equal(t, "-N -l", QuoteArgs([]string{"-N", "-l"}))
	assert.Equal(t, `-d "a b" "" "x'y" "\"q\""`, QuoteArgs([]string{"-d", "a b", "", "x'y", `"q"`}))
	assert.Equal(t, `"line\nbreak" tab`, QuoteArgs([]string{"line\nbreak", "tab"}))
	assert.Empty(t, QuoteArgs(nil))
}
