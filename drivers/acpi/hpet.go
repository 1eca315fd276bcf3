package acpi

// HPET is the IA-PC High Precision Event Timer Table (signature "HPET",
// IA-PC HPET specification 1.0a, §3.2.4).
type HPET struct {
	EventTimerBlockID uint32         // hardware ID of the event timer block (vendor, timers, counter size)
	BaseAddress       GenericAddress // the timer block's registers (system memory)
	HPETNumber        uint8          // sequence number of this timer block
	MinimumTick       uint16         // Main Counter Minimum Clock_tick in Periodic Mode
	PageProtection    uint8          // Page Protection and OEM Attribute
}

// HPET layout.
const (
	hpetBlockID        = 36
	hpetBaseAddress    = 40
	hpetNumber         = 52
	hpetMinimumTick    = 53
	hpetPageProtection = 55
	hpetLen            = 56
)

// parseHPET decodes the checked table t into h; shorter than 56 bytes is
// ErrMalformed. Context: boot/trap; does not allocate.
func parseHPET(t []byte, h *HPET) Error {
	*h = HPET{}
	if len(t) < hpetLen {
		return ErrMalformed
	}
	h.EventTimerBlockID = u32(t, hpetBlockID)
	h.BaseAddress = gas(t, hpetBaseAddress)
	h.HPETNumber = u8(t, hpetNumber)
	h.MinimumTick = u16(t, hpetMinimumTick)
	h.PageProtection = u8(t, hpetPageProtection)
	return OK
}
