package qemu

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRouterMatchesSplit feeds console streams to a Router in every
// chunk size and checks that it routes them as Split does.
func TestRouterMatchesSplit(t *testing.T) {
	streams := []string{
		"[gometal] booting\nhello\n[gometal] exit status 0\n",
		"prompt> partial\r\n[gometal] kernel line\r\n continued\n",
		"a line\r\nnext line\n",
		"[gometa not kernel\n[gometal]\n[gometal] x",
		"ends without newline",
		"\r\n\r\n[gometal] a\r\n",
		"[gometal] k\nprogram\r\n",
	}
	for _, s := range streams {
		wantOut, wantLog := Split([]byte(s))
		for size := 1; size <= len(s); size++ {
			var out, klog bytes.Buffer
			r := &Router{Output: &out, Kernel: &klog}
			for i := 0; i < len(s); i += size {
				r.Write([]byte(s[i:min(i+size, len(s))]))
			}
			r.Close()
			assert.Equal(t, string(wantOut), out.String(), "%q in chunks of %d", s, size)
			assert.Equal(t, string(wantLog), klog.String(), "%q in chunks of %d", s, size)
		}
	}
}

// TestRouterStreamsPartialLines: a program's partial line that cannot be
// a kernel line is passed on before its newline.
func TestRouterStreamsPartialLines(t *testing.T) {
	var out, klog bytes.Buffer
	r := &Router{Output: &out, Kernel: &klog}
	r.Write([]byte("Name? "))
	assert.Equal(t, "Name? ", out.String())
	r.Write([]byte("[gomet"))
	assert.Equal(t, "Name? [gomet", out.String(), "mid-line bytes are program output")
	r.Write([]byte("\n[gomet"))
	assert.Equal(t, "Name? [gomet\n", out.String(), "a line start that may be a kernel line waits")
	r.Write([]byte("al] x\n"))
	assert.Equal(t, "[gometal] x\n", klog.String())
}

// TestLineWriter passes whole lines only, the last one completed.
func TestLineWriter(t *testing.T) {
	var dst bytes.Buffer
	w := &lineWriter{dst: &dst}
	n, err := w.Write([]byte("one\ntw"))
	assert.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.Equal(t, "one\n", dst.String())
	w.Write([]byte("o\nthree"))
	assert.Equal(t, "one\ntwo\n", dst.String())
	w.Close()
	assert.Equal(t, "one\ntwo\nthree\n", dst.String())
}
