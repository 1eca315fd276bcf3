package qemu

import (
	"bytes"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// The host side of the virtio console (Options.VirtioConsole): one
// socket pair per port, QEMU's ends inherited as descriptors 3 to 6
// (consolePorts), ours read and written by goroutines.

// lockedBuffer is a bytes.Buffer that copies what it gets to w as well.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	w       io.Writer
	discard bool // keep nothing, only pass on
}

// Write keeps p and passes it on; it never fails.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.discard {
		b.buf.Write(p)
	}
	if b.w != nil {
		b.w.Write(p)
	}
	return len(p), nil
}

// Bytes returns what was written so far.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// lineWriter passes whole lines to dst; Close passes a last partial line
// with a newline added. Kernel log lines from two sources (the serial
// port and the log port) so never mix within a line.
type lineWriter struct {
	line []byte
	dst  io.Writer
}

// Write passes on the complete lines of p and keeps the rest.
func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.line = append(l.line, p...)
			break
		}
		l.line = append(l.line, p[:i+1]...)
		l.dst.Write(l.line)
		l.line = l.line[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Close passes on a pending partial line.
func (l *lineWriter) Close() error {
	if len(l.line) > 0 {
		l.dst.Write(append(l.line, '\n'))
		l.line = l.line[:0]
	}
	return nil
}

// Router splits a serial console stream as it arrives, as [Splitter]
// does a whole one: kernel log lines (whole, with a trailing "\r"
// removed) go to Kernel, everything else to Output. Bytes of a line that
// cannot be a kernel line any more are passed on at once, so a program's
// prompt without a newline shows.
type Router struct {
	Output, Kernel io.Writer
	line           []byte // the start of the current line, while it may be a kernel line
	program        bool   // the current line is program output
	held           bool   // a program line ended in "\r\n", not passed on yet
	cr             bool   // the program's bytes so far end in a '\r' not passed on yet
}

// Write routes p; it never fails.
func (r *Router) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		r.add(chunk, i >= 0)
		if i < 0 {
			break
		}
		p = p[i+1:]
	}
	return n, nil
}

// add takes part of a line; eol says a '\n' ended it.
func (r *Router) add(b []byte, eol bool) {
	if !r.program {
		r.line = append(r.line, b...)
		k := min(len(r.line), len(kernelPrefix))
		if bytes.Equal(r.line[:k], kernelPrefix[:k]) {
			if !eol {
				return // may still be a kernel line
			}
			if k == len(kernelPrefix) {
				r.held = false // the kernel's line break, not the program's
				r.Kernel.Write(append(bytes.TrimSuffix(r.line, []byte("\r")), '\n'))
				r.line = r.line[:0]
				return
			}
		}
		b, r.line, r.program = r.line, nil, true
		r.releaseHeld()
	}
	if r.cr {
		if len(b) == 0 && !eol {
			return
		}
		r.cr = false
		if len(b) == 0 { // the line ended in "\r\n"
			r.held, r.program = true, false
			return
		}
		r.Output.Write([]byte{'\r'})
	}
	crEnd := bytes.HasSuffix(b, []byte("\r"))
	if crEnd {
		b = b[:len(b)-1]
	}
	r.Output.Write(b)
	switch {
	case eol && crEnd:
		r.held, r.program = true, false
	case eol:
		r.Output.Write([]byte("\n"))
		r.program = false
	case crEnd:
		r.cr = true // "\r\n" before a kernel line is the kernel's
	}
}

// releaseHeld passes on a held "\r\n": the next line is the program's.
func (r *Router) releaseHeld() {
	if r.held {
		r.Output.Write([]byte("\r\n"))
		r.held = false
	}
}

// Close passes on what is pending: a last partial line is classified as
// it is.
func (r *Router) Close() error {
	r.releaseHeld()
	if r.cr {
		r.Output.Write([]byte{'\r'})
		r.cr = false
	}
	if len(r.line) > 0 {
		if bytes.HasPrefix(r.line, kernelPrefix) {
			r.Kernel.Write(append(bytes.TrimSuffix(r.line, []byte("\r")), '\n'))
		} else {
			r.Output.Write(r.line)
		}
		r.line = r.line[:0]
	}
	return nil
}

// consoleConns is one run's virtio console sockets and what came out.
type consoleConns struct {
	child          []*os.File // QEMU's ends, in consolePorts order
	host           []*os.File
	stdout, stderr lockedBuffer
	klog           lockedBuffer
	serialKlog     *lineWriter // the serial port's kernel lines into klog
	portKlog       *lineWriter // the log port's lines into klog
	router         *Router     // the serial stream
	readers        sync.WaitGroup
}

// openConsole makes the socket pairs.
func openConsole(o Options) (*consoleConns, error) {
	c := &consoleConns{}
	c.stdout.w, c.stderr.w, c.klog.w = ignoreNil(o.Stdout), ignoreNil(o.Stderr), ignoreNil(o.KernelLogOut)
	c.stdout.discard, c.stderr.discard = o.StreamOnly, o.StreamOnly
	c.serialKlog = &lineWriter{dst: &c.klog}
	c.portKlog = &lineWriter{dst: &c.klog}
	c.router = &Router{Output: &c.stdout, Kernel: c.serialKlog}
	for _, p := range consolePorts {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			c.closeAll()
			return nil, err
		}
		c.child = append(c.child, os.NewFile(uintptr(fds[0]), "qemu-"+p.name))
		c.host = append(c.host, os.NewFile(uintptr(fds[1]), "console-"+p.name))
	}
	return c, nil
}

// ignoreNil returns w wrapped so that its errors are ignored, or nil.
func ignoreNil(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return ignoreErrors{w}
}

// start runs the copying goroutines once QEMU has its ends.
func (c *consoleConns) start(stdin io.Reader) {
	for _, f := range c.child {
		f.Close()
	}
	sinks := []io.Writer{&c.stdout, &c.stderr, nil, c.portKlog}
	for i, w := range sinks {
		if w == nil {
			continue
		}
		c.readers.Add(1)
		go func(f *os.File, w io.Writer) {
			defer c.readers.Done()
			io.Copy(w, f)
		}(c.host[i], w)
	}
	in := c.host[2]
	go func() {
		if stdin != nil {
			io.Copy(in, stdin)
		}
		// End of file for the program: shut down our sending side only.
		// Closing the socket would hang it up, and QEMU drops what it has
		// not read yet when it sees the hang-up.
		syscall.Shutdown(int(in.Fd()), syscall.SHUT_WR)
	}()
}

// finish waits (a bounded time) for the output sockets' ends of file
// after QEMU exited, and closes ours.
func (c *consoleConns) finish() {
	done := make(chan struct{})
	go func() { c.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	c.router.Close()
	c.serialKlog.Close()
	c.portKlog.Close()
	c.closeAll()
}

// closeAll closes every socket end still open.
func (c *consoleConns) closeAll() {
	for _, f := range append(c.child, c.host...) {
		f.Close()
	}
}
