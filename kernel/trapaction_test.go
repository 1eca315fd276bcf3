package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/x86"
)

// TestExceptionAction pins what each exception becomes. An NMI or a
// machine check taken in ring 3 used to be a SIGSEGV for the program.
func TestExceptionAction(t *testing.T) {
	for _, c := range []struct {
		v        uint64
		fromUser bool
		want     trapAction
	}{
		{x86.VecNMI, true, actIgnore},
		{x86.VecNMI, false, actIgnore},
		{x86.VecMachCheck, true, actPanic},
		{x86.VecMachCheck, false, actPanic},
		{x86.VecDouble, true, actPanic},
		{x86.VecDouble, false, actPanic},
		{x86.VecDivide, true, actSignal},
		{x86.VecGP, true, actSignal},
		{x86.VecInvalidOp, true, actSignal},
		{x86.VecGP, false, actPanic},
		{x86.VecPageFault, false, actPanic},
	} {
		if got := exceptionAction(c.v, c.fromUser); got != c.want {
			t.Errorf("exceptionAction(%d (%s), fromUser=%v) = %d, want %d", c.v, kpanic.ExceptionName(uint64(c.v)), c.fromUser, got, c.want)
		}
	}
}
