// Package abi holds the pure parts of the Linux start-up contract: splitting
// the kernel command line into kernel options, environment and arguments,
// and laying out argc/argv/envp/auxv on the initial stack. No allocation:
// everything works on caller-provided fixed storage, so it runs before the
// Go runtime exists.
package abi

// MaxWords bounds the number of words on the command line.
const MaxWords = 128

// Span is a byte range [Off, Off+Len) of the command line.
type Span struct{ Off, Len int }

// Cmdline is a parsed kernel command line. Words before a lone "--" that
// contain '=' become environment variables, except the kernel's own
// options (see KernelOption); other words before "--" are kernel flags.
// Every word after "--" is a program argument. Double quotes group words
// ("FOO=a b") and are removed.
type Cmdline struct {
	Buf        [4096]byte // the words, unquoted, each followed by a NUL
	Env        [MaxWords]Span
	Args       [MaxWords]Span
	Kernel     [MaxWords]Span
	NEnv       int
	NArgs      int
	NKernel    int
	Overflowed bool // input was truncated to fit
}

// kernelOptions are the words (or KEY= prefixes) the kernel itself reads.
var kernelOptions = [...]string{"quiet", "debug", "loglevel=", "acpidump", "slice=", "novdso", "novga", "ip=", "gw=", "dns=", "nonet", "apfault=", "kfault=", "tlbfault=", "lockfault=", "cwd=", "export=", "noreset", "virtio_mmio.device=", "tty", "unknown_nmi_panic"}

// KernelOption reports whether w is a kernel option rather than an
// environment variable or flag for the program.
// Context: boot; does not allocate. Not inlined (image size).
//
//go:noinline
func KernelOption(w []byte) bool {
	for _, o := range kernelOptions[:] { // [:]: a range over the array copies it
		if len(w) >= len(o) && string(w[:len(o)]) == o && (o[len(o)-1] == '=' || len(w) == len(o)) {
			return true
		}
	}
	return false
}

// Parse splits s into c. Context: boot; does not allocate.
func (c *Cmdline) Parse(s []byte) {
	*c = Cmdline{}
	out := 0
	afterDashes := false
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i == len(s) {
			break
		}
		start := out
		quoted := false
		for i < len(s) && (quoted || (s[i] != ' ' && s[i] != '\t' && s[i] != '\n')) {
			if s[i] == '"' {
				quoted = !quoted
			} else if out < len(c.Buf)-1 {
				c.Buf[out] = s[i]
				out++
			} else {
				c.Overflowed = true
			}
			i++
		}
		w := Span{start, out - start}
		if out < len(c.Buf) {
			c.Buf[out] = 0
			out++
		}
		word := c.Buf[w.Off : w.Off+w.Len]
		switch {
		case !afterDashes && string(word) == "--":
			afterDashes = true
		case afterDashes:
			c.add(&c.Args, &c.NArgs, w)
		case KernelOption(word):
			c.add(&c.Kernel, &c.NKernel, w)
		case hasByte(word, '='):
			c.add(&c.Env, &c.NEnv, w)
		default:
			c.add(&c.Kernel, &c.NKernel, w)
		}
	}
}

// add appends w to list, which holds *n words, or marks the command
// line overflowed when list is full. Context: boot; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (c *Cmdline) add(list *[MaxWords]Span, n *int, w Span) {
	if *n == MaxWords {
		c.Overflowed = true
		return
	}
	list[*n] = w
	*n++
}

// Pack copies the words of list[:n] (c.Args[:c.NArgs] or c.Env[:c.NEnv])
// into buf as Strings. buf as large as c.Buf always has room.
// Context: boot; does not allocate.
func (c *Cmdline) Pack(list []Span, buf []byte) Strings {
	var l Strings
	for _, s := range list {
		var ok bool
		if l, ok = l.Append(buf, c.Word(s)); !ok {
			break
		}
	}
	return l
}

// Word returns the bytes of a span. Context: boot; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (c *Cmdline) Word(s Span) []byte { return c.Buf[s.Off : s.Off+s.Len] }

// Flag reports whether the kernel flag name (e.g. "quiet") was given.
// Context: any; does not allocate. Not inlined: boot-time look-ups,
// cheaper as one copy (docs/performance.md, "Image size").
//
//go:noinline
func (c *Cmdline) Flag(name string) bool {
	for i := 0; i < c.NKernel; i++ {
		if string(c.Word(c.Kernel[i])) == name {
			return true
		}
	}
	return false
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
