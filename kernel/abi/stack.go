package abi

// Auxiliary vector keys (see golang.org/x/sys/unix and the ELF ABI).
const (
	AT_NULL     = 0
	AT_PAGESZ   = 6
	AT_PLATFORM = 15
	AT_HWCAP    = 16
	AT_CLKTCK   = 17
	AT_SECURE   = 23
	AT_RANDOM   = 25
	AT_HWCAP2   = 26
	AT_EXECFN   = 31
)

// Aux is one auxiliary vector entry.
type Aux struct{ Key, Val uint64 }

// Strings is N strings laid end to end in B, each followed by a NUL (the
// argument block's format, and what the initial stack holds).
type Strings struct {
	B []byte
	N int
}

// MaxStringParts bounds the parts StackImage.Args and Env are made of.
const MaxStringParts = 3

// StackImage is what the initial stack of the program's first thread holds,
// described by the kernel and laid out by Build.
type StackImage struct {
	Argv0  []byte                  // program name
	Args   [MaxStringParts]Strings // argv[1:], part after part
	Env    [MaxStringParts]Strings // envp, part after part
	Random [16]byte                // AT_RANDOM bytes
	Aux    [16]Aux                 // extra entries (AT_PAGESZ, AT_HWCAP, ...)
	NAux   int

	// ArgStart and ArgEnd are set by Build: the user addresses of argv's
	// strings, end to end (Linux's arg_start and arg_end, which
	// /proc/self/cmdline reads).
	ArgStart, ArgEnd uintptr
}

// StackBytes is how much of the stack Build needs for img: the strings,
// the pointers and the auxiliary vector, with room for alignment.
// Context: boot; does not allocate.
func StackBytes(img *StackImage) uintptr {
	n := uintptr(len(img.Argv0)+1+len("x86_64")+1+16) + 64
	argc, envc := img.counts()
	for i := range img.Args {
		n += uintptr(len(img.Args[i].B) + len(img.Env[i].B))
	}
	return n + uintptr(3+argc+envc+2*(img.NAux+4))*8
}

// counts returns argc (argv0 included) and the number of environment
// strings. Context: boot; does not allocate.
func (img *StackImage) counts() (argc, envc int) {
	argc = 1
	for i := range img.Args {
		argc += img.Args[i].N
		envc += img.Env[i].N
	}
	return argc, envc
}

// Build lays out the Linux process-entry stack in mem, which covers the
// user addresses [top-len(mem), top), and returns the initial stack pointer
// (16-byte aligned, pointing at argc), or 0 if mem is too small:
//
//	sp -> argc, argv[0..argc-1], NULL, envp[..], NULL, auxv pairs, AT_NULL
//	      ... argv strings, envp strings, AT_RANDOM bytes, platform string ... top
//
// Context: boot; does not allocate.
func Build(mem []byte, top uintptr, img *StackImage) uintptr {
	var b stackBuilder
	b.mem, b.base, b.p = mem, top-uintptr(len(mem)), top
	platform := b.bytes([]byte("x86_64"), true)
	b.p &^= 15
	random := b.bytes(img.Random[:], false)
	for i := len(img.Env) - 1; i >= 0; i-- {
		b.bytes(img.Env[i].B, false)
	}
	envStart := b.p
	for i := len(img.Args) - 1; i >= 0; i-- {
		b.bytes(img.Args[i].B, false)
	}
	argv0 := b.bytes(img.Argv0, true)
	img.ArgStart, img.ArgEnd = argv0, envStart
	argc, envc := img.counts()
	// Words: argc, argv, NULL, envp, NULL, aux pairs plus AT_RANDOM,
	// AT_PLATFORM, AT_EXECFN and AT_NULL.
	words := 1 + argc + 1 + envc + 1 + 2*(img.NAux+4)
	b.p &^= 15
	b.p -= uintptr(words) * 8
	b.p &^= 15
	if b.failed || b.p < b.base {
		return 0
	}
	sp := b.p
	b.w = sp
	b.word(uint64(argc))
	b.word(uint64(argv0))
	b.pointers(argv0+uintptr(len(img.Argv0))+1, argc-1)
	b.pointers(envStart, envc)
	for i := 0; i < img.NAux; i++ {
		b.word(img.Aux[i].Key)
		b.word(img.Aux[i].Val)
	}
	b.word(AT_RANDOM)
	b.word(uint64(random))
	b.word(AT_PLATFORM)
	b.word(uint64(platform))
	b.word(AT_EXECFN)
	b.word(uint64(argv0))
	b.word(AT_NULL)
	b.word(0)
	return sp
}

// pointers stores at b.w the addresses of the n NUL-terminated strings
// laid end to end from the user address s, then a NULL word. Context:
// boot; does not allocate.
func (b *stackBuilder) pointers(s uintptr, n int) {
	for i := 0; i < n; i++ {
		b.word(uint64(s))
		for b.mem[s-b.base] != 0 {
			s++
		}
		s++
	}
	b.word(0)
}

// HasKey reports whether one of the strings in l starts with key (such as
// "HOME="). Context: boot; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (l Strings) HasKey(key string) bool {
	off := 0
	for i := 0; i < l.N; i++ {
		end := off
		for l.B[end] != 0 {
			end++
		}
		if end-off >= len(key) && string(l.B[off:off+len(key)]) == key {
			return true
		}
		off = end + 1
	}
	return false
}

// Append adds s and its NUL to l, whose bytes are buf's first len(l.B),
// and returns the new l; false if buf has no room. Context: boot; does
// not allocate.
func (l Strings) Append(buf []byte, s []byte) (Strings, bool) {
	n := len(l.B)
	if n+len(s)+1 > len(buf) {
		return l, false
	}
	copy(buf[n:], s)
	buf[n+len(s)] = 0
	return Strings{B: buf[:n+len(s)+1], N: l.N + 1}, true
}

// AppendString is Append for a string. Context: boot; does not allocate.
func (l Strings) AppendString(buf []byte, s string) (Strings, bool) {
	n := len(l.B)
	if n+len(s)+1 > len(buf) {
		return l, false
	}
	copy(buf[n:], s)
	buf[n+len(s)] = 0
	return Strings{B: buf[:n+len(s)+1], N: l.N + 1}, true
}

type stackBuilder struct {
	mem    []byte
	base   uintptr
	p      uintptr
	w      uintptr // where word stores next (Build's pointer area)
	failed bool
}

// bytes pushes s (and a NUL if nul) and returns its address.
// Context: boot; does not allocate. Not inlined (image size).
//
//go:noinline
func (b *stackBuilder) bytes(s []byte, nul bool) uintptr {
	n := uintptr(len(s))
	if nul {
		n++
	}
	if b.p-b.base < n {
		b.failed = true
		return 0
	}
	b.p -= n
	off := b.p - b.base
	copy(b.mem[off:], s)
	if nul {
		b.mem[off+uintptr(len(s))] = 0
	}
	return b.p
}

// word stores v at b.w and advances it.
// Context: boot; does not allocate. Not inlined (image size).
//
//go:noinline
func (b *stackBuilder) word(v uint64) {
	off := b.w - b.base
	for i := uintptr(0); i < 8; i++ {
		b.mem[off+i] = byte(v >> (8 * i))
	}
	b.w += 8
}
