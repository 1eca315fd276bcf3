package abi

// The argument block carries the program's arguments and environment from
// the host to the kernel byte for byte, outside the kernel command line
// (which is short, split at white space and shared with kernel options).
// It rides at the end of a boot module, after the module's initramfs
// archive if it has one (docs/protocols.md, "Arguments and environment"):
//
//	u32 argc, u32 envc (little-endian)
//	argc NUL-terminated strings (argv[1:]; argv[0] is always "/init")
//	envc NUL-terminated strings
//	u64 length of the block above (little-endian), then ArgBlockMagic
//
// No string may contain a NUL byte; any other byte is carried as is.

// ArgBlockMagic ends a boot module that carries an argument block.
const ArgBlockMagic = "GMARGV01"

// ArgTrailerLen is the length word plus the magic.
const ArgTrailerLen = 8 + len(ArgBlockMagic)

// MaxArgBytes bounds the arguments and environment together, counted as
// each string's bytes, its terminating NUL and its 8-byte pointer on the
// initial stack: a quarter of the program's 1 MiB stack, the ratio Linux
// uses for ARG_MAX.
const MaxArgBytes = 256 << 10

// ArgBlock is a parsed argument block: Args and Env each hold their
// strings, every one followed by a NUL.
type ArgBlock struct {
	Args, Env   []byte
	NArgs, NEnv int
}

// SplitArgBlock looks for an argument block at the end of the boot module
// m. It returns the bytes before it (the module's archive, if any), the
// parsed block and true; or m itself and false when m ends without one or
// the block is malformed (bad reports which). Context: boot; does not
// allocate.
func SplitArgBlock(m []byte) (rest []byte, blk ArgBlock, found, bad bool) {
	if len(m) < ArgTrailerLen || string(m[len(m)-len(ArgBlockMagic):]) != ArgBlockMagic {
		return m, blk, false, false
	}
	n := le64(m[len(m)-ArgTrailerLen:])
	body := uint64(len(m) - ArgTrailerLen)
	if n < 8 || n > body {
		return m, blk, false, true
	}
	b := m[body-n : body]
	blk.NArgs, blk.NEnv = int(le32(b)), int(le32(b[4:]))
	b = b[8:]
	argEnd, ok := skipStrings(b, blk.NArgs)
	if !ok {
		return m, ArgBlock{}, false, true
	}
	envEnd, ok := skipStrings(b[argEnd:], blk.NEnv)
	if !ok || argEnd+envEnd != len(b) {
		return m, ArgBlock{}, false, true
	}
	blk.Args, blk.Env = b[:argEnd], b[argEnd:]
	return m[:body-n], blk, true, false
}

// skipStrings returns the length of the first n NUL-terminated strings of
// b, or false if b holds fewer. Context: boot; does not allocate.
func skipStrings(b []byte, n int) (int, bool) {
	off := 0
	for i := 0; i < n; i++ {
		for off < len(b) && b[off] != 0 {
			off++
		}
		if off == len(b) {
			return 0, false
		}
		off++
	}
	return off, true
}

// le32 and le64 decode little-endian words without encoding/binary, which
// the boot path need not pull in. Context: any; do not allocate.
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
