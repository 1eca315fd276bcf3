package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapeParser(t *testing.T) {
	cases := []struct {
		name string
		in   []string // the reads, in order
		out  string
		kill bool
	}{
		{"plain bytes pass", []string{"ab\x03\x1a\x1c\r"}, "ab\x03\x1a\x1c\r", false},
		{"ctrl-a x kills", []string{"abc\x01xdef"}, "abc", true},
		{"ctrl-a X kills", []string{"\x01X"}, "", true},
		{"split across reads", []string{"ab\x01", "x"}, "ab", true},
		{"ctrl-a ctrl-a is one ctrl-a", []string{"\x01\x01x"}, "\x01x", false},
		{"ctrl-a then another key passes both", []string{"\x01c", "\x01", "q"}, "\x01c\x01q", false},
		{"pending ctrl-a at the end waits", []string{"a\x01"}, "a", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p escapeParser
			var out []byte
			kill := false
			for _, in := range c.in {
				o, k := p.feed([]byte(in))
				out = append(out, o...)
				if k {
					kill = true
					break
				}
			}
			assert.Equal(t, c.out, string(out))
			assert.Equal(t, c.kill, kill)
		})
	}
}

// TestEscapeReader reads through the escape sequence: the bytes before it
// arrive, kill is called once, and the reader then ends.
func TestEscapeReader(t *testing.T) {
	kills := 0
	r := &escapeReader{r: bytes.NewReader([]byte("hello\x01\x01\x01xignored")), kill: func() { kills++ }}
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "hello\x01", string(got))
	assert.Equal(t, 1, kills)

	r = &escapeReader{r: bytes.NewReader([]byte("no escape\x01")), kill: func() { kills++ }}
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "no escape", string(got), "a lone Ctrl-A at the end is held back")
	assert.Equal(t, 1, kills)
}
