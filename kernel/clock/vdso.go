package clock

import "github.com/gometal/gometal/kernel/abi"

// The vDSO: the Go runtime reads the clocks without a system call, as on
// Linux. The kernel builds a tiny ELF image (abi.BuildVDSO) whose symbols
// point at vdso_amd64.s, and hands its address to the program as
// AT_SYSINFO_EHDR. The functions compute time from the TSC with the
// kernel's calibration, exactly as Nanotime does.

// vdsoPage holds the vDSO's ELF image (in the image's data: user-readable).
var vdsoPage [abi.VDSOSize]byte

// The functions, for their Go declarations (they are called by the
// runtime through the vDSO, with the C calling convention, in ring 3).
func vdsoClockGettime()
func vdsoGettimeofday()

// vdsoAddrs returns the functions' entry points.
// Context: boot; does not allocate.
func vdsoAddrs() (clockGettime, gettimeofday uintptr)

// BuildVDSO fills the vDSO page and returns its address, or 0 if it did
// not fit. Context: boot.
func BuildVDSO() uintptr {
	cg, gtod := vdsoAddrs()
	base := addrOf(&vdsoPage[0])
	syms := [...]abi.VDSOSymbol{
		{Name: "__vdso_clock_gettime", Addr: cg},
		{Name: "__vdso_gettimeofday", Addr: gtod},
	}
	if !abi.BuildVDSO(&vdsoPage, base, syms[:]) {
		return 0
	}
	return base
}

// VDSORange returns the vDSO page's range [start, end): kernel state the
// program may read (kernel/vm's checks let system calls read it).
// Context: boot; does not allocate.
func VDSORange() (start, end uintptr) {
	start = addrOf(&vdsoPage[0])
	return start, start + uintptr(len(vdsoPage))
}
