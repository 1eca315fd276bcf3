package lapic

import (
	"testing"
	"unsafe"
)

// TestSendIPIStuck: an IPI whose delivery status stays pending (a local
// APIC that never accepts it) makes SendIPI give up and report false
// instead of spinning forever with the kernel lock held. The registers
// here are ordinary memory standing in for the xAPIC page.
func TestSendIPIStuck(t *testing.T) {
	var page [0x400 / 4]uint32
	l := &LAPIC{base: uintptr(unsafe.Pointer(&page[0]))}
	// Writing the ICR leaves the value written, which has no pending bit:
	// accepted at once.
	if !l.SendIPI(1, 0xf0) {
		t.Fatal("an accepted IPI reported as stuck")
	}
	if got := page[RegICRHigh/4]; got != 1<<24 {
		t.Errorf("ICR high = %#x, want the destination in bits 24-31", got)
	}
	// A pending bit that never clears: the command written carries it,
	// and this memory keeps it, as a stuck APIC would.
	if l.icr(1, icrPending|0xf0) {
		t.Fatal("an IPI that stays pending was reported as accepted")
	}
}
