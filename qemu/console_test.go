package qemu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string // the stream, as the reads deliver it
		out    string
		klog   string
	}{
		{name: "empty", chunks: nil},
		{name: "output only", chunks: []string{"hello\nworld\n"}, out: "hello\nworld\n"},
		{name: "kernel only", chunks: []string{"[gometal] a\n[gometal] b\n"}, klog: "[gometal] a\n[gometal] b\n"},
		{
			name:   "whole lines mixed",
			chunks: []string{"[gometal] boot\nout 1\n[gometal] mid\nout 2\n"},
			out:    "out 1\nout 2\n",
			klog:   "[gometal] boot\n[gometal] mid\n",
		},
		{
			name:   "inserted break is removed",
			chunks: []string{"abc\r\n[gometal] x\ndef\n"},
			out:    "abcdef\n",
			klog:   "[gometal] x\n",
		},
		{
			name:   "inserted break before two kernel lines",
			chunks: []string{"ab\r\n[gometal] 1\n[gometal] 2\ncd\n"},
			out:    "abcd\n",
			klog:   "[gometal] 1\n[gometal] 2\n",
		},
		{name: "program CRLF kept", chunks: []string{"a\r\nb\r\n"}, out: "a\r\nb\r\n"},
		{name: "program CRLF at end kept", chunks: []string{"a\r\n"}, out: "a\r\n"},
		{name: "lone CR kept", chunks: []string{"a\rb\n\r"}, out: "a\rb\n\r"},
		{name: "partial output line at end", chunks: []string{"x\nabc"}, out: "x\nabc"},
		{name: "partial kernel line at end", chunks: []string{"[gometal] booting"}, klog: "[gometal] booting\n"},
		{name: "kernel CRLF normalised", chunks: []string{"[gometal] a\r\n"}, klog: "[gometal] a\n"},
		{name: "prefix without space", chunks: []string{"[gometal]x\n"}, out: "[gometal]x\n"},
		{name: "prefix cut short", chunks: []string{"[gomet\n[gometal]"}, out: "[gomet\n[gometal]"},
		{name: "prefix not at line start", chunks: []string{"a [gometal] b\n"}, out: "a [gometal] b\n"},
		{name: "empty lines", chunks: []string{"\n\n[gometal] k\n\n"}, out: "\n\n\n", klog: "[gometal] k\n"},
		{
			name:   "lines split across reads",
			chunks: []string{"hel", "lo\n[gome", "tal] k", "ern\r", "\n", "x\r", "\n[gometal] y\nz"},
			out:    "hello\nxz",
			klog:   "[gometal] kern\n[gometal] y\n",
		},
		{
			name:   "CRLF split from its kernel line",
			chunks: []string{"partial\r", "\n", "[gometal", "] log\n", "rest\n"},
			out:    "partialrest\n",
			klog:   "[gometal] log\n",
		},
		{
			name:   "CRLF split from a program line",
			chunks: []string{"one\r", "\n", "[gometa", "X\n"},
			out:    "one\r\n[gometaX\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var whole string
			for _, c := range tt.chunks {
				whole += c
			}
			chunkings := map[string][]string{
				"as read":      tt.chunks,
				"one write":    {whole},
				"byte by byte": splitBytes(whole),
			}
			for how, chunks := range chunkings {
				var s Splitter
				for _, c := range chunks {
					n, err := s.Write([]byte(c))
					require.NoError(t, err)
					require.Equal(t, len(c), n)
				}
				require.NoError(t, s.Close())
				assert.Equal(t, tt.out, string(s.Output()), "output, %s", how)
				assert.Equal(t, tt.klog, string(s.KernelLog()), "kernel log, %s", how)
			}
			out, klog := Split([]byte(whole))
			assert.Equal(t, tt.out, string(out), "Split output")
			assert.Equal(t, tt.klog, string(klog), "Split kernel log")
		})
	}
}

func splitBytes(s string) []string {
	var out []string
	for i := range len(s) {
		out = append(out, s[i:i+1])
	}
	return out
}

func TestSplitterCloseTwice(t *testing.T) {
	var s Splitter
	s.Write([]byte("a\r\n"))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	assert.Equal(t, "a\r\n", string(s.Output()))
}

const panicConsole = "hello\n" +
	"abc\r\n[gometal] === KERNEL PANIC ===\r\n" +
	"[gometal] reason: page fault in kernel\n" +
	"program noise\n" +
	"[gometal] rip: 0x0000000000212345 cs: 0x0008\n" +
	"[gometal] === END KERNEL PANIC ===\n" +
	"[gometal] after\n"

func TestParsePanic(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		report  string
		isPanic bool
	}{
		{name: "none", log: "hello\n[gometal] fine\n"},
		{
			name:    "raw console",
			log:     panicConsole,
			report:  "reason: page fault in kernel\nrip: 0x0000000000212345 cs: 0x0008\n",
			isPanic: true,
		},
		{
			name:    "cut off",
			log:     "[gometal] === KERNEL PANIC ===\n[gometal] reason: x\n[gometal] cpu: 0",
			report:  "reason: x\ncpu: 0\n",
			isPanic: true,
		},
		{name: "marker only", log: "[gometal] === KERNEL PANIC ===", isPanic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, found := ParsePanic([]byte(tt.log))
			assert.Equal(t, tt.isPanic, found)
			assert.Equal(t, tt.report, report)
		})
	}
	// The kernel log from Split gives the same report as the raw console.
	_, klog := Split([]byte(panicConsole))
	r1, _ := ParsePanic(klog)
	r2, _ := ParsePanic([]byte(panicConsole))
	assert.Equal(t, r2, r1)
}

func TestLastLines(t *testing.T) {
	assert.Equal(t, "(console empty)", lastLines(nil, 3))
	assert.Equal(t, "a\nb", lastLines([]byte("a\r\nb\r\n"), 3))
	assert.Equal(t, "c\nd", lastLines([]byte("a\nb\nc\nd\n\n"), 2))
	assert.Equal(t, "b\npartial", lastLines([]byte("a\nb\npartial"), 2))
}
