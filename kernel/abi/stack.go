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

// StackImage is what the initial stack of the program's first thread holds,
// described by the kernel and laid out by Build.
type StackImage struct {
	Argv0  []byte   // program name
	Line   *Cmdline // arguments and environment
	Random [16]byte // AT_RANDOM bytes
	Aux    [16]Aux  // extra entries (AT_PAGESZ, AT_HWCAP, ...)
	NAux   int
}

// Build lays out the Linux process-entry stack in mem, which covers the
// user addresses [top-len(mem), top), and returns the initial stack pointer
// (16-byte aligned, pointing at argc), or 0 if mem is too small:
//
//	sp -> argc, argv[0..argc-1], NULL, envp[..], NULL, auxv pairs, AT_NULL
//	      ... strings, AT_RANDOM bytes, platform string ... top
//
// Context: boot; does not allocate.
func Build(mem []byte, top uintptr, img *StackImage) uintptr {
	b := stackBuilder{mem: mem, base: top - uintptr(len(mem)), p: top}
	platform := b.bytes([]byte("x86_64"), true)
	b.p &^= 15
	random := b.bytes(img.Random[:], false)
	argv0 := b.bytes(img.Argv0, true)
	var argv [MaxWords + 1]uintptr
	var envp [MaxWords]uintptr
	argv[0] = argv0
	l := img.Line
	for i := 0; i < l.NArgs; i++ {
		argv[i+1] = b.bytes(l.Word(l.Args[i]), true)
	}
	for i := 0; i < l.NEnv; i++ {
		envp[i] = b.bytes(l.Word(l.Env[i]), true)
	}
	argc := 1 + l.NArgs
	// Words: argc, argv, NULL, envp, NULL, aux pairs plus AT_RANDOM,
	// AT_PLATFORM, AT_EXECFN and AT_NULL.
	words := 1 + argc + 1 + l.NEnv + 1 + 2*(img.NAux+4)
	b.p &^= 15
	b.p -= uintptr(words) * 8
	b.p &^= 15
	if b.failed || b.p < b.base {
		return 0
	}
	sp := b.p
	w := sp
	b.word(&w, uint64(argc))
	for i := 0; i < argc; i++ {
		b.word(&w, uint64(argv[i]))
	}
	b.word(&w, 0)
	for i := 0; i < l.NEnv; i++ {
		b.word(&w, uint64(envp[i]))
	}
	b.word(&w, 0)
	for i := 0; i < img.NAux; i++ {
		b.word(&w, img.Aux[i].Key)
		b.word(&w, img.Aux[i].Val)
	}
	b.word(&w, AT_RANDOM)
	b.word(&w, uint64(random))
	b.word(&w, AT_PLATFORM)
	b.word(&w, uint64(platform))
	b.word(&w, AT_EXECFN)
	b.word(&w, uint64(argv0))
	b.word(&w, AT_NULL)
	b.word(&w, 0)
	return sp
}

type stackBuilder struct {
	mem    []byte
	base   uintptr
	p      uintptr
	failed bool
}

// bytes pushes s (and a NUL if nul) and returns its address.
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

// word stores v at *at and advances it.
func (b *stackBuilder) word(at *uintptr, v uint64) {
	off := *at - b.base
	for i := uintptr(0); i < 8; i++ {
		b.mem[off+i] = byte(v >> (8 * i))
	}
	*at += 8
}
