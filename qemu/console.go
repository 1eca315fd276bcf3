package qemu

import (
	"bytes"
	"strings"
)

// KernelPrefix starts every kernel log line on the console.
const KernelPrefix = "[gometal] "

// Markers around a kernel panic report (docs/protocols.md), prefix included.
const (
	PanicBegin = KernelPrefix + "=== KERNEL PANIC ==="
	PanicEnd   = KernelPrefix + "=== END KERNEL PANIC ==="
)

var kernelPrefix = []byte(KernelPrefix)

// Splitter separates the serial console stream into the program's output
// and the kernel log. Write it the stream in chunks of any size (it is an
// io.Writer), then call Close and read Output and KernelLog.
//
// A line that starts with KernelPrefix belongs to the kernel log; every
// other byte is program output. When the kernel logs while the program has
// a partial line on the console, it first writes "\r\n"; a "\r\n" directly
// followed by a kernel line is therefore dropped from the output, so the
// program's partial line continues after the kernel line. (A program that
// itself ends a line with "\r\n" right before a kernel line loses that
// "\r\n" too: the protocol cannot tell the two apart.)
//
// Kernel log lines are stored with their prefix, a trailing "\r" removed
// and a "\n" added where the stream ended without one.
type Splitter struct {
	line    []byte // the current line so far, without its '\n'
	held    []byte // an output line that ended in "\r\n", without it
	hasHeld bool   // held is waiting for the next line's kind
	out     bytes.Buffer
	klog    bytes.Buffer
}

// Write adds p to the stream. It never fails.
func (s *Splitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.line = append(s.line, p...)
			break
		}
		s.line = append(s.line, p[:i]...)
		s.endLine(true)
		p = p[i+1:]
	}
	return n, nil
}

// Close ends the stream: a pending partial line is classified as it is.
// Close may be called more than once.
func (s *Splitter) Close() error {
	s.endLine(false)
	return nil
}

// Output returns the program output decided so far (all of it after Close).
func (s *Splitter) Output() []byte { return s.out.Bytes() }

// KernelLog returns the kernel log lines decided so far.
func (s *Splitter) KernelLog() []byte { return s.klog.Bytes() }

// endLine classifies s.line; complete says whether a '\n' ended it.
func (s *Splitter) endLine(complete bool) {
	line := s.line
	kernel := bytes.HasPrefix(line, kernelPrefix)
	if s.hasHeld {
		s.out.Write(s.held)
		if !kernel {
			s.out.WriteString("\r\n")
		}
		s.held, s.hasHeld = s.held[:0], false
	}
	switch {
	case kernel:
		s.klog.Write(bytes.TrimSuffix(line, []byte("\r")))
		s.klog.WriteByte('\n')
	case complete && bytes.HasSuffix(line, []byte("\r")):
		s.held = append(s.held[:0], line[:len(line)-1]...)
		s.hasHeld = true
	default:
		s.out.Write(line)
		if complete {
			s.out.WriteByte('\n')
		}
	}
	s.line = s.line[:0]
}

// Split splits a whole console stream; see [Splitter].
func Split(console []byte) (output, kernelLog []byte) {
	var s Splitter
	s.Write(console)
	s.Close()
	return s.Output(), s.KernelLog()
}

// ParsePanic finds the first kernel panic report in a kernel log (or a raw
// console stream). The report is the text between PanicBegin and PanicEnd,
// one line per kernel line with KernelPrefix removed. found is true when
// PanicBegin occurs, even if the report was cut off before PanicEnd.
func ParsePanic(log []byte) (report string, found bool) {
	var b strings.Builder
	for _, line := range strings.Split(string(log), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if !found {
			found = strings.HasSuffix(line, PanicBegin)
			continue
		}
		if line == PanicEnd {
			break
		}
		if rest, ok := strings.CutPrefix(line, KernelPrefix); ok {
			b.WriteString(rest)
			b.WriteByte('\n')
		}
	}
	return b.String(), found
}

// lastLines returns the last n lines of a console stream, "\r" removed.
func lastLines(console []byte, n int) string {
	text := strings.TrimRight(strings.ReplaceAll(string(console), "\r", ""), "\n")
	if text == "" {
		return "(console empty)"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
