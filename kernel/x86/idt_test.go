package x86

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestISTStacks checks that the double fault, NMI and machine check each
// have their own IST slot; they used to share IST1, so an NMI during a
// double fault's report (or a machine check during an NMI) overwrote the
// frame being reported.
func TestISTStacks(t *testing.T) {
	for v := range 256 {
		SetGate(uint8(v), 0)
	}
	slots := map[uint8]int{}
	for _, v := range []int{VecDouble, VecNMI, VecMachCheck} {
		ist := idt[v].ist
		assert.True(t, ist >= 1 && ist <= 3, "vector %d: IST %d, want 1-3", v, ist)
		o, dup := slots[ist]
		assert.False(t, dup, "vectors %d and %d share IST%d", o, v, ist)
		slots[ist] = v
	}
	assert.Equal(t, uint8(0), idt[VecPageFault].ist, "a page fault runs on the kernel stack")
}

// TestGateLayout checks SetGate's encoding of the handler address and
// that only INT3 may be raised from ring 3.
func TestGateLayout(t *testing.T) {
	const stub = 0xffffffff_81234567
	SetGate(VecGP, stub)
	e := idt[VecGP]
	got := uintptr(e.offsetLow) | uintptr(e.offsetMid)<<16 | uintptr(e.offsetHigh)<<32
	assert.Equal(t, uintptr(stub), got)
	assert.Equal(t, uint16(SelKernelCode), e.selector)
	assert.Equal(t, uint8(gateInterrupt), e.typeAttr)
	SetGate(VecBreakpoint, stub)
	assert.Equal(t, uint8(gateInterrupt|gateUser), idt[VecBreakpoint].typeAttr)
}
