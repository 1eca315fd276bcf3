package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/x86"
)

// TestVectorsDisjoint checks that the kernel's interrupt vectors do not
// overlap: /dev/irq's range (devices.IRQFirstVector-IRQLastVector) used to run to
// 0xef and include the remapped 8259s' 0xe0-0xef, where a spurious IRQ 7
// or 15 would have counted as the device's interrupt.
func TestVectorsDisjoint(t *testing.T) {
	owner := map[int]string{}
	claim := func(name string, first, last int) {
		for v := first; v <= last; v++ {
			if o, ok := owner[v]; ok {
				t.Errorf("vector %#x: %s overlaps %s", v, name, o)
				return
			}
			owner[v] = name
		}
	}
	claim("exceptions", 0, 31)
	claim("LAPIC timer", x86.VecTimer, x86.VecTimer)
	claim("COM1", x86.VecCOM1, x86.VecCOM1)
	claim("virtio console", x86.VecVCon, x86.VecVCon)
	claim("/dev/irq", devices.IRQFirstVector, devices.IRQLastVector)
	claim("8259 PICs", x86.VecPICBase, x86.VecPICBase+15)
	claim("kick IPI", x86.VecKick, x86.VecKick)
	claim("TLB IPI", x86.VecTLB, x86.VecTLB)
	claim("spurious", x86.VecSpurious, x86.VecSpurious)
}

// TestPICSetup checks setupInterrupts' table of 8259 writes: both PICs
// initialized, their vectors moved to x86.VecPICBase, cascaded, masked.
func TestPICSetup(t *testing.T) {
	const pic1, pic2 = 0x20, 0xa0
	want := []byte{
		pic1, 0x11, pic2, 0x11,
		pic1 + 1, x86.VecPICBase, pic2 + 1, x86.VecPICBase + 8,
		pic1 + 1, 4, pic2 + 1, 2,
		pic1 + 1, 1, pic2 + 1, 1,
		pic1 + 1, 0xff, pic2 + 1, 0xff,
	}
	if picSetup != string(want) {
		t.Errorf("picSetup = % x, want % x", picSetup, want)
	}
}
