package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// When gometal run's standard input is a terminal, the terminal goes into
// raw input mode for the run: every key reaches the guest as a byte
// (Ctrl-C as 0x03, which the kernel's tty option turns into SIGINT for
// the program), except the escape sequence Ctrl-A x, which kills the
// guest. Ctrl-A Ctrl-A sends one Ctrl-A. Output processing stays on, so
// the program's "\n" still starts a new line on the screen.

// escapeKey starts the escape sequence (Ctrl-A, as in QEMU's and
// screen's).
const escapeKey = 0x01

// escapeParser finds the escape sequence in the bytes typed.
type escapeParser struct {
	pending bool // the last byte was escapeKey
}

// feed returns the bytes of in to forward, and kill once Ctrl-A x was
// typed (the bytes after it are dropped).
func (e *escapeParser) feed(in []byte) (out []byte, kill bool) {
	out = make([]byte, 0, len(in)+1)
	for _, c := range in {
		switch {
		case e.pending:
			e.pending = false
			switch c {
			case 'x', 'X':
				return out, true
			case escapeKey:
				out = append(out, escapeKey)
			default:
				out = append(out, escapeKey, c)
			}
		case c == escapeKey:
			e.pending = true
		default:
			out = append(out, c)
		}
	}
	return out, false
}

// escapeReader reads typed bytes through an escapeParser and calls kill
// at the escape sequence (then reads return io.EOF).
type escapeReader struct {
	r    io.Reader
	p    escapeParser
	kill func()
	buf  []byte
	done bool
}

// Read returns the next bytes to forward.
func (e *escapeReader) Read(p []byte) (int, error) {
	for len(e.buf) == 0 {
		if e.done {
			return 0, io.EOF
		}
		raw := make([]byte, len(p))
		n, err := e.r.Read(raw)
		out, kill := e.p.feed(raw[:n])
		e.buf = out
		if kill {
			e.done = true
			e.kill()
		}
		if err != nil {
			e.done = true
			if len(e.buf) == 0 {
				return 0, err
			}
		}
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

// terminalFd returns the descriptor of r when it is a terminal.
func terminalFd(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return int(f.Fd()), err == nil
}

// rawTerminal puts terminal fd into raw input mode (no echo, no line
// editing, no signal keys, no flow control, no CR-to-NL) with output
// processing kept, and returns the function that restores it.
func rawTerminal(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// terminalSession prepares a run whose stdin is terminal fd: raw mode,
// the escape sequence, and SIGTERM and SIGHUP ending the run (so the
// terminal is restored) instead of the process. It returns the reader to
// feed the guest, the context of the run, whether the escape sequence
// was typed, and the function that ends the session (call it once).
func terminalSession(ctx context.Context, fd int, in io.Reader) (io.Reader, context.Context, *bool, func(), error) {
	restore, err := rawTerminal(fd)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	killed := new(bool)
	r := &escapeReader{r: in, kill: func() { *killed = true; cancel() }}
	end := func() {
		signal.Stop(sigs)
		cancel()
		restore()
	}
	return r, ctx, killed, end, nil
}
