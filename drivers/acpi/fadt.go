package acpi

import "encoding/binary"

// GenericAddress is a Generic Address Structure (§5.2.3.2): a register in
// some address space. Address 0 means the register is absent.
type GenericAddress struct {
	AddressSpaceID    uint8 // SpaceSystemMemory, SpaceSystemIO, ...
	RegisterBitWidth  uint8
	RegisterBitOffset uint8
	AccessSize        uint8 // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
	Address           uint64
}

// Address space IDs.
const (
	SpaceSystemMemory = 0
	SpaceSystemIO     = 1
	SpacePCIConfig    = 2
)

const gasLen = 12

// gas decodes the Generic Address Structure at t[off:]; zero (absent) when
// it does not fit in t.
// Context: boot/trap; does not allocate.
func gas(t []byte, off int) GenericAddress {
	if off < 0 || len(t)-off < gasLen {
		return GenericAddress{}
	}
	g := t[off : off+gasLen]
	return GenericAddress{g[0], g[1], g[2], g[3], binary.LittleEndian.Uint64(g[4:])}
}

// FADT is the Fixed ACPI Description Table (signature "FACP", §5.2.9).
// Fields a short (older) table lacks are zero.
type FADT struct {
	Revision     uint8 // header Revision: 1 for ACPI 1.0 (116 bytes), 6 for ACPI 6.x
	MinorVersion uint8 // FADT Minor Version (ACPI 5.1 and later)

	DSDT               uint64 // X_DSDT when not 0, else DSDT
	PreferredPMProfile uint8
	SCIInt             uint16 // SCI_INT: the SCI's interrupt (8259 IRQ, or GSI)
	SMICmd             uint32 // SMI_CMD port; 0: ACPI mode is always on
	ACPIEnable         uint8  // value to write to SMICmd to enter ACPI mode
	ACPIDisable        uint8

	PM1aEvtBlk, PM1bEvtBlk uint32 // I/O ports (0: absent)
	PM1aCntBlk, PM1bCntBlk uint32
	PMTmrBlk               uint32
	PM1EvtLen, PM1CntLen   uint8 // bytes
	PMTmrLen               uint8

	Century      uint8  // RTC CMOS index of the century, 0 if none
	IAPCBootArch uint16 // IA-PC Boot Architecture Flags (BootArch...); reserved (0) in revision 1
	Flags        uint32 // Fixed Feature Flags (Flag...)

	ResetReg   GenericAddress // RESET_REG; valid when Flags has FlagResetRegSup
	ResetValue uint8

	XPM1aEvtBlk, XPM1bEvtBlk GenericAddress // X_ forms; Address 0 when absent
	XPM1aCntBlk, XPM1bCntBlk GenericAddress
	XPMTmrBlk                GenericAddress

	SleepControlReg GenericAddress // hardware-reduced ACPI's sleep registers
	SleepStatusReg  GenericAddress
}

// IA-PC Boot Architecture Flags (§5.2.9.3).
const (
	BootArchLegacyDevices     = 1 << 0 // ISA devices the OS cannot enumerate through ACPI are present
	BootArch8042              = 1 << 1 // an 8042 (PS/2 controller) is present
	BootArchVGANotPresent     = 1 << 2 // do not probe VGA
	BootArchMSINotSupported   = 1 << 3 // do not enable MSI
	BootArchPCIeASPMControls  = 1 << 4
	BootArchCMOSRTCNotPresent = 1 << 5
)

// Fixed Feature Flags (§5.2.9), the ones the kernel reads.
const (
	FlagWBINVD                   = 1 << 0
	FlagPwrButton                = 1 << 4 // the power button is a control-method device, not fixed
	FlagTmrValExt                = 1 << 8 // the PM timer is 32 bits wide (else 24)
	FlagResetRegSup              = 1 << 10
	FlagHeadless                 = 1 << 12
	FlagForceAPICPhysicalDstMode = 1 << 19 // FORCE_APIC_PHYSICAL_DESTINATION_MODE
	FlagHWReducedACPI            = 1 << 20
	FlagLowPowerS0IdleCapable    = 1 << 21
)

// FADT field offsets.
const (
	fadtDSDT               = 40
	fadtPreferredPMProfile = 45
	fadtSCIInt             = 46
	fadtSMICmd             = 48
	fadtACPIEnable         = 52
	fadtACPIDisable        = 53
	fadtPM1aEvtBlk         = 56
	fadtPM1bEvtBlk         = 60
	fadtPM1aCntBlk         = 64
	fadtPM1bCntBlk         = 68
	fadtPMTmrBlk           = 76
	fadtPM1EvtLen          = 88
	fadtPM1CntLen          = 89
	fadtPMTmrLen           = 91
	fadtCentury            = 108
	fadtIAPCBootArch       = 109
	fadtFlags              = 112
	fadtMinLen             = 116 // ACPI 1.0 ends after Flags
	fadtResetReg           = 116
	fadtResetValue         = 128
	fadtMinorVersion       = 131
	fadtXDSDT              = 140
	fadtXPM1aEvtBlk        = 148
	fadtXPM1bEvtBlk        = 160
	fadtXPM1aCntBlk        = 172
	fadtXPM1bCntBlk        = 184
	fadtXPMTmrBlk          = 208
	fadtSleepControlReg    = 244
	fadtSleepStatusReg     = 256
)

// fadtGASOffsets are the offsets of the Generic Address Structures
// parseFADT reads, in the order of its list of fields.
var fadtGASOffsets = [...]uint16{fadtResetReg, fadtXPM1aEvtBlk, fadtXPM1bEvtBlk,
	fadtXPM1aCntBlk, fadtXPM1bCntBlk, fadtXPMTmrBlk, fadtSleepControlReg, fadtSleepStatusReg}

// parseFADT decodes the checked table t into f. A table shorter than the
// ACPI 1.0 FADT (116 bytes) is ErrMalformed; later fields are read only
// where t is long enough to hold them.
// Context: boot/trap; does not allocate.
func parseFADT(t []byte, f *FADT) Error {
	*f = FADT{}
	if len(t) < fadtMinLen {
		return ErrMalformed
	}
	// The ACPI 1.0 fields, which t holds: read without u8 and friends'
	// range checks, which cost the image code and line-table bytes
	// (issue 16's budget).
	h := (*[fadtMinLen]byte)(t)
	le := binary.LittleEndian
	f.Revision = h[hdrRevision]
	f.MinorVersion = u8(t, fadtMinorVersion)
	f.DSDT = uint64(le.Uint32(h[fadtDSDT:]))
	if x := u64(t, fadtXDSDT); x != 0 {
		f.DSDT = x
	}
	f.PreferredPMProfile = h[fadtPreferredPMProfile]
	f.SCIInt = le.Uint16(h[fadtSCIInt:])
	f.SMICmd = le.Uint32(h[fadtSMICmd:])
	f.ACPIEnable = h[fadtACPIEnable]
	f.ACPIDisable = h[fadtACPIDisable]
	f.PM1aEvtBlk = le.Uint32(h[fadtPM1aEvtBlk:])
	f.PM1bEvtBlk = le.Uint32(h[fadtPM1bEvtBlk:])
	f.PM1aCntBlk = le.Uint32(h[fadtPM1aCntBlk:])
	f.PM1bCntBlk = le.Uint32(h[fadtPM1bCntBlk:])
	f.PMTmrBlk = le.Uint32(h[fadtPMTmrBlk:])
	f.PM1EvtLen = h[fadtPM1EvtLen]
	f.PM1CntLen = h[fadtPM1CntLen]
	f.PMTmrLen = h[fadtPMTmrLen]
	f.Century = h[fadtCentury]
	f.IAPCBootArch = le.Uint16(h[fadtIAPCBootArch:])
	f.Flags = le.Uint32(h[fadtFlags:])
	f.ResetValue = u8(t, fadtResetValue)
	regs := [len(fadtGASOffsets)]*GenericAddress{&f.ResetReg, &f.XPM1aEvtBlk, &f.XPM1bEvtBlk,
		&f.XPM1aCntBlk, &f.XPM1bCntBlk, &f.XPMTmrBlk, &f.SleepControlReg, &f.SleepStatusReg}
	for i, off := range fadtGASOffsets {
		*regs[i] = gas(t, int(off))
	}
	return OK
}

// preferX returns x when its address is not 0, else the I/O port block
// port of n bytes (absent when port is 0).
func preferX(x GenericAddress, port uint32, n uint8) GenericAddress {
	if x.Address != 0 {
		return x
	}
	if port == 0 {
		return GenericAddress{}
	}
	return GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 8 * n, Address: uint64(port)}
}

// PM1aControl returns the PM1a control register block: X_PM1a_CNT_BLK when
// present, else the PM1a_CNT_BLK port (PM1_CNT_LEN bytes). Address 0: absent.
// Context: any; does not allocate.
func (f *FADT) PM1aControl() GenericAddress {
	return preferX(f.XPM1aCntBlk, f.PM1aCntBlk, f.PM1CntLen)
}

// PM1bControl is PM1aControl for the optional PM1b block.
func (f *FADT) PM1bControl() GenericAddress {
	return preferX(f.XPM1bCntBlk, f.PM1bCntBlk, f.PM1CntLen)
}

// PM1aEvent returns the PM1a event register block (status, then enable).
func (f *FADT) PM1aEvent() GenericAddress {
	return preferX(f.XPM1aEvtBlk, f.PM1aEvtBlk, f.PM1EvtLen)
}

// PMTimer returns the ACPI power-management timer (3.579545 MHz; 24 bits
// wide unless Flags has FlagTmrValExt).
func (f *FADT) PMTimer() GenericAddress {
	return preferX(f.XPMTmrBlk, f.PMTmrBlk, f.PMTmrLen)
}

// HardwareReduced reports HW_REDUCED_ACPI: the fixed hardware (PM1 blocks,
// PM timer, GPE blocks, SMI_CMD) is absent; power off through
// SleepControlReg.
func (f *FADT) HardwareReduced() bool { return f.Flags&FlagHWReducedACPI != 0 }

// ResetSupported reports whether ResetReg/ResetValue reset the machine.
func (f *FADT) ResetSupported() bool {
	return f.Flags&FlagResetRegSup != 0 && f.ResetReg.Address != 0
}

// Has8042 reports the IA-PC 8042 flag. A revision-1 FADT lacks the field
// (it reads 0): callers that must know should treat that as "maybe".
func (f *FADT) Has8042() bool { return f.IAPCBootArch&BootArch8042 != 0 }

// VGANotPresent reports the IA-PC "VGA Not Present" flag.
func (f *FADT) VGANotPresent() bool { return f.IAPCBootArch&BootArchVGANotPresent != 0 }

// MSINotSupported reports the IA-PC "MSI Not Supported" flag.
func (f *FADT) MSINotSupported() bool { return f.IAPCBootArch&BootArchMSINotSupported != 0 }

// CMOSRTCNotPresent reports the IA-PC "CMOS RTC Not Present" flag.
func (f *FADT) CMOSRTCNotPresent() bool { return f.IAPCBootArch&BootArchCMOSRTCNotPresent != 0 }
