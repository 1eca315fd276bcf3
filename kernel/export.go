package kernel

import (
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/vfs"
)

// Files out of the guest: each export=PATH kernel option names a file that
// the kernel prints on the console, base64-encoded in kernel log lines,
// after the program exits and before the exit status (docs/protocols.md,
// "Exported files"). gometal test uses it to bring profiles and coverage
// back to the host:
//
//	[gometal] export PATH SIZE
//	[gometal] export-data BASE64...    (108 bytes per line)
//	[gometal] export-end PATH
//
// A file that is missing or not a regular file gives one line,
// "[gometal] export-missing PATH".

// exportChunk is how many file bytes one export-data line carries (144
// base64 characters, within a log line).
const exportChunk = 108

// exportFiles prints every file the command line's export= options name.
// Context: trap (shutdown), kernel lock held; does not allocate.
func exportFiles() {
	for i := 0; i < cmdline.NKernel; i++ {
		w := cmdline.Word(cmdline.Kernel[i])
		const key = "export="
		if len(w) > len(key) && string(w[:len(key)]) == key {
			exportFile(w[len(key):])
		}
	}
}

// exportFile prints one file as export lines.
// Context: trap (shutdown), kernel lock held; does not allocate.
func exportFile(path []byte) {
	var p fs.Path
	p.N = copy(p.Buf[:], path)
	m := vfs.Mem()
	found, e := vfs.Root.Resolve(&m, fs.RootIno, &p, true)
	var l klog.Line
	if e != 0 || found.Ino == 0 || !vfs.Root.IsRegular(found.Ino) {
		l.S("export-missing ").B(path).Print()
		return
	}
	size := vfs.Root.Size(found.Ino)
	l.S("export ").B(path).S(" ").U(uint64(size)).Print()
	var chunk [exportChunk]byte
	for off := int64(0); off < size; off += exportChunk {
		n, _ := vfs.Root.Read(&m, found.Ino, off, chunk[:])
		l.Reset()
		var enc [exportChunk / 3 * 4]byte
		k := base64Encode(enc[:], chunk[:n])
		l.S("export-data ").B(enc[:k]).Print()
	}
	l.Reset()
	l.S("export-end ").B(path).Print()
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Encode writes src in standard base64 (with padding) into dst and
// returns the length; dst must hold 4 bytes per 3 of src.
// Context: any; does not allocate.
func base64Encode(dst, src []byte) int {
	n := 0
	for i := 0; i < len(src); i += 3 {
		var v uint32
		k := min(3, len(src)-i)
		for j := 0; j < 3; j++ {
			v <<= 8
			if j < k {
				v |= uint32(src[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= k {
				dst[n+j] = base64Alphabet[v>>(18-6*j)&63]
			} else {
				dst[n+j] = '='
			}
		}
		n += 4
	}
	return n
}
