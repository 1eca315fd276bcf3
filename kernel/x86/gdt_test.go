package x86

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDataSegmentsMatchSyscall checks the data descriptors against the SS
// that SYSCALL and SYSRET load (Intel SDM vol. 2, SYSCALL: flat, present,
// writable, accessed, B set): an SS loaded from the table must look the
// same to QEMU's TCG, which keys its translations by SS's B bit
// (qemu.TestKernelTranslatedOnce boots with it).
func TestDataSegmentsMatchSyscall(t *testing.T) {
	var g GDT
	var tss TSS
	g.init(&tss)
	const syscallSS = descLimit | descGran4K | descPresent | descSegment | descAccessed | descWritable | descBig
	assert.Equal(t, uint64(syscallSS), g[SelKernelData>>3], "kernel data")
	assert.Equal(t, uint64(syscallSS|descDPL3), g[SelUserData>>3], "user data")
	assert.NotZero(t, g[SelKernelCode>>3]&descLong, "kernel code is 64-bit")
	assert.Zero(t, g[SelKernelCode>>3]&descBig, "a 64-bit code segment must have D clear")
	assert.NotZero(t, g[SelUserCode>>3]&descLong, "user code is 64-bit")
	assert.Zero(t, g[SelUserCode>>3]&descBig, "a 64-bit code segment must have D clear")
}
