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

// TestSetLINTNMI: the pin's LVT register gets NMI delivery, unmasked, and
// the polarity; another pin number writes nothing.
func TestSetLINTNMI(t *testing.T) {
	var page [0x400 / 4]uint32
	page[RegLVTLINT0/4], page[RegLVTLINT1/4] = lvtMasked, lvtMasked
	l := &LAPIC{base: uintptr(unsafe.Pointer(&page[0]))}
	l.SetLINTNMI(1, false)
	if got := page[RegLVTLINT1/4]; got != 0x400 {
		t.Errorf("LVT LINT1 = %#x, want 0x400 (NMI, unmasked, active high)", got)
	}
	l.SetLINTNMI(0, true)
	if got := page[RegLVTLINT0/4]; got != 0x2400 {
		t.Errorf("LVT LINT0 = %#x, want 0x2400 (NMI, unmasked, active low)", got)
	}
	page[RegLVTLINT0/4], page[RegLVTLINT1/4] = lvtMasked, lvtMasked
	l.SetLINTNMI(2, false)
	if page[RegLVTLINT0/4] != lvtMasked || page[RegLVTLINT1/4] != lvtMasked {
		t.Error("pin 2 wrote an LVT register")
	}
}

// TestArmOneShot: the LVT timer register is written on the first arm
// (and after the copy is forgotten), not on the re-arms, which write the
// initial count alone; stopping writes a count of 0 and leaves the LVT.
func TestArmOneShot(t *testing.T) {
	var page [0x400 / 4]uint32
	page[RegLVTTimer/4] = lvtMasked | 0xef
	l := &LAPIC{base: uintptr(unsafe.Pointer(&page[0])), timerVector: 0xef}
	var lvt uint32
	l.ArmOneShot(100, &lvt)
	if page[RegLVTTimer/4] != 0xef || page[RegTimerInit/4] != 100 || lvt != 0xef {
		t.Fatalf("first arm: LVT %#x, count %d, copy %#x; want 0xef (one-shot, unmasked), 100, 0xef", page[RegLVTTimer/4], page[RegTimerInit/4], lvt)
	}
	const untouched = 0x5a5a
	page[RegLVTTimer/4] = untouched // shows any later write
	l.ArmOneShot(200, &lvt)
	if page[RegLVTTimer/4] != untouched || page[RegTimerInit/4] != 200 {
		t.Errorf("re-arm: LVT %#x (want it not written), count %d (want 200)", page[RegLVTTimer/4], page[RegTimerInit/4])
	}
	l.StopOneShot()
	if page[RegLVTTimer/4] != untouched || page[RegTimerInit/4] != 0 {
		t.Errorf("stop: LVT %#x (want it not written), count %d (want 0)", page[RegLVTTimer/4], page[RegTimerInit/4])
	}
	lvt = 0 // not known: written again
	l.ArmOneShot(300, &lvt)
	if page[RegLVTTimer/4] != 0xef || page[RegTimerInit/4] != 300 {
		t.Errorf("arm after the copy was forgotten: LVT %#x, count %d; want 0xef, 300", page[RegLVTTimer/4], page[RegTimerInit/4])
	}
}
