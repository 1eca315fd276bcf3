package kernel

import "github.com/gometal/gometal/kernel/kpanic"

// setupPanicReport hands kernel/kpanic what it cannot reach from below
// package kernel: a copy of the local APIC driver, to stop the other CPUs
// by NMI, and the TSC's calibration, for its timeouts and the report's
// times. The report itself (kpanic.Panic) is in kernel/kpanic.
// Context: boot, after setupInterrupts and calibrateClocks; does not
// allocate.
func setupPanicReport() { kpanic.Setup(localAPIC, bootTSC, tscMult) }
