package kernel

import "testing"

// TestExceptionAction pins what each exception becomes. An NMI or a
// machine check taken in ring 3 used to be a SIGSEGV for the program.
func TestExceptionAction(t *testing.T) {
	for _, c := range []struct {
		v        uint64
		fromUser bool
		want     trapAction
	}{
		{vecNMI, true, actIgnore},
		{vecNMI, false, actIgnore},
		{vecMachCheck, true, actPanic},
		{vecMachCheck, false, actPanic},
		{vecDouble, true, actPanic},
		{vecDouble, false, actPanic},
		{vecDivide, true, actSignal},
		{vecGP, true, actSignal},
		{vecInvalidOp, true, actSignal},
		{vecGP, false, actPanic},
		{vecPageFault, false, actPanic},
	} {
		if got := exceptionAction(c.v, c.fromUser); got != c.want {
			t.Errorf("exceptionAction(%d (%s), fromUser=%v) = %d, want %d", c.v, exceptionNames[c.v], c.fromUser, got, c.want)
		}
	}
}

// TestISTStacks checks that the double fault, NMI and machine check each
// have their own IST slot; they used to share IST1, so an NMI during a
// double fault's report (or a machine check during an NMI) overwrote the
// frame being reported.
func TestISTStacks(t *testing.T) {
	setupIDT()
	slots := map[uint8]int{}
	for _, v := range []int{vecDouble, vecNMI, vecMachCheck} {
		ist := idt[v].ist
		if ist == 0 || ist > 3 {
			t.Errorf("vector %d (%s): IST %d, want 1-3", v, exceptionNames[v], ist)
		}
		if o, dup := slots[ist]; dup {
			t.Errorf("vectors %d and %d share IST%d", o, v, ist)
		}
		slots[ist] = v
	}
}
