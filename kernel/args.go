package kernel

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
)

// The program's arguments and environment come from the kernel command
// line ("K=V... -- ARGS...", split at white space) and, carried exactly,
// from an argument block at the end of a boot module (abi.SplitArgBlock,
// docs/protocols.md). With a block, its arguments replace the command
// line's and its environment follows the command line's. The block stays
// where the boot loader put it until the initial stack is built; only
// addresses are kept here (no Go pointers in globals).

var (
	argBlockFound bool
	argBlockMod   boot.Module // the module that held it, freed after startProgram's stack
	argsAddr      uintptr     // the block's arguments (abi.Strings bytes) in the direct map
	argsLen       uintptr
	nArgs         int
	envAddr       uintptr // the block's environment
	envLen        uintptr
	nEnv          int

	// Command-line arguments and environment packed as abi.Strings, and
	// the default variables the program gets unless set.
	cmdArgsBuf, cmdEnvBuf [len(abi.Cmdline{}.Buf)]byte
	defaultEnvBuf         [256]byte

	// argStart and argEnd are the user addresses of argv's strings on the
	// initial stack (Linux's arg_start and arg_end): /proc/self/cmdline.
	argStart, argEnd uintptr
)

// defaultEnv is what Linux gives init (HOME, TERM) plus a conventional
// PATH, each unless the command line or the argument block sets it.
var defaultEnv = [...]string{"HOME=/", "TERM=linux", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// takeArgBlock returns the part of boot module mod before its argument
// block, if it has one, remembering the block for startProgram; a
// malformed block stops the boot. Context: boot; does not allocate.
func takeArgBlock(mod boot.Module, data []byte) (rest []byte, keep bool) {
	rest, blk, found, bad := abi.SplitArgBlock(data)
	var l klog.Line // one for the lines below (Reset): each Line zeroed costs code
	if bad {
		l.S("a boot module ends with a malformed argument block (").S(abi.ArgBlockMagic).S(")").Print()
		kpanic.Panic("malformed argument block", nil)
	}
	if !found {
		return data, false
	}
	if argBlockFound {
		l.S("warning: more than one boot module carries arguments: the last one is used").Print()
		l.Reset()
		kfiles.FreeModule(argBlockMod)
	}
	argBlockFound, argBlockMod = true, mod
	argsAddr, argsLen, nArgs = sliceAddr(blk.Args), uintptr(len(blk.Args)), blk.NArgs
	envAddr, envLen, nEnv = sliceAddr(blk.Env), uintptr(len(blk.Env)), blk.NEnv
	l.S("arguments: ").U(uint64(nArgs)).S(" and ").U(uint64(nEnv)).S(" environment variables (").U(uint64(len(blk.Args) + len(blk.Env))).S(" bytes) from a boot module").Info()
	return rest, true
}

// sliceAddr is the address of b's first byte, 0 if b is empty.
// Context: any; does not allocate.
func sliceAddr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(ptrOf(&b[0]))
}

// programStrings returns a StackImage holding the program's arguments
// (argv[1:], in Args[0]) and its environment in parts: the argument
// block's arguments or else the command line's; the command line's
// environment, the block's, then the defaults set by neither; its other
// fields zero, for the caller to fill. (A result, not stores through a
// caller's pointer: it is built in the caller's StackImage on its stack,
// so no write barrier; and returning the whole image spares the caller
// copying the parts in, issue 16's budget.)
// Context: boot; does not allocate.
func programStrings() (img abi.StackImage) {
	args, env := &img.Args[0], &img.Env
	env[0] = cmdline.Pack(cmdline.Env[:cmdline.NEnv], cmdEnvBuf[:])
	if argBlockFound {
		*args = abi.Strings{B: unsafeSlice(argsAddr, argsLen), N: nArgs}
		env[1] = abi.Strings{B: unsafeSlice(envAddr, envLen), N: nEnv}
	} else {
		*args = cmdline.Pack(cmdline.Args[:cmdline.NArgs], cmdArgsBuf[:])
	}
	for _, kv := range defaultEnv[:] { // [:]: a range over the array copies it
		key := kv[:indexByte(kv, '=')+1]
		if !env[0].HasKey(key) && !env[1].HasKey(key) {
			env[2], _ = env[2].AppendString(defaultEnvBuf[:], kv)
		}
	}
	return img
}

// releaseArgBlock gives the argument block's module back to the frame
// allocator once the initial stack holds a copy. Context: boot.
func releaseArgBlock() {
	if argBlockFound {
		kfiles.FreeModule(argBlockMod)
		argsAddr, envAddr = 0, 0
	}
}

// indexByte is the index of c in s, -1 if absent. Context: any.
func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// kernelOptionValue returns the value of a KEY= kernel option; when the
// command line gives it more than once, the last one wins, as on Linux
// (so a harness's default can be overridden by appending).
// Context: boot or trap; does not allocate. Not inlined: boot-time
// look-ups, cheaper as one copy (docs/performance.md, "Image size").
//
//go:noinline
func kernelOptionValue(key string) (string, bool) {
	for i := cmdline.NKernel - 1; i >= 0; i-- {
		w := cmdline.Word(cmdline.Kernel[i])
		if len(w) > len(key) && string(w[:len(key)]) == key {
			return unsafeString(w[len(key):]), true
		}
	}
	return "", false
}
