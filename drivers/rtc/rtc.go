// Package rtc reads wall-clock time from the CMOS real-time clock.
package rtc

import "github.com/gometal/gometal/kernel/cpu"

const (
	portIndex   = 0x70
	portData    = 0x71
	regSeconds  = 0x00
	regMinutes  = 0x02
	regHours    = 0x04
	regDay      = 0x07
	regMonth    = 0x08
	regYear     = 0x09
	regStatusA  = 0x0a
	regStatusB  = 0x0b
	regCentury  = 0x32 // ACPI FADT's usual century register
	aUpdating   = 0x80
	bBinary     = 0x04 // values are binary, not BCD
	b24Hour     = 0x02
	hourPMBit   = 0x80
	nmiDisabled = 0x80 // keep NMIs off while we index the CMOS
)

// Time is a broken-down RTC reading.
type Time struct {
	Year, Month, Day, Hour, Minute, Second int
}

// read returns CMOS register reg, with NMIs kept off while it is indexed.
// Context: boot; does not allocate.
func read(reg uint8) uint8 {
	cpu.Outb(portIndex, nmiDisabled|reg)
	return cpu.Inb(portData)
}

// maxPolls bounds the wait for an update to end (it lasts under 2 ms).
const maxPolls = 1 << 21

// absent reports whether there is no RTC: register A then reads all ones
// (an RTC's divider bits are never 111 while it runs).
// Context: boot; does not allocate.
func absent() bool { return read(regStatusA) == 0xff }

// waitNotUpdating waits until no update is in progress; false when that
// never happens (no RTC). Context: boot; does not allocate.
func waitNotUpdating() bool {
	if absent() {
		return false
	}
	for i := 0; i < maxPolls; i++ {
		if read(regStatusA)&aUpdating == 0 {
			return true
		}
		cpu.Pause()
	}
	return false
}

// snapshot waits until no update is in progress and reads the time
// registers once. Context: boot; does not allocate.
func snapshot() (t [7]uint8, ok bool) {
	if !waitNotUpdating() {
		return t, false
	}
	t[0], t[1], t[2] = read(regSeconds), read(regMinutes), read(regHours)
	t[3], t[4], t[5], t[6] = read(regDay), read(regMonth), read(regYear), read(regCentury)
	return t, true
}

// Read returns the current RTC time (UTC by convention). It reads twice
// until two readings agree, so an update in between cannot tear it. ok is
// false when there is no RTC (it never leaves its update state).
// Context: boot; does not allocate.
func Read() (t Time, ok bool) {
	a, ok := snapshot()
	for i := 0; ok && i < 8; i++ {
		b, okb := snapshot()
		if !okb || a == b {
			break
		}
		a = b
	}
	if !ok {
		return Time{}, false
	}
	return Decode(a, read(regStatusB)), true
}

// NextSecond busy-waits for the end of the RTC's next once-a-second
// update and returns then, true; or false when there is no RTC or no
// update comes within limitTSC TSC ticks. The end is the
// update-in-progress flag falling, or, when the wait did not see the flag
// up (it is up for only 244 µs, which a virtual CPU descheduled by a
// busy host easily misses), the seconds register changing. The edges are
// a second apart, which makes the RTC a slow last-resort reference for
// calibrating the TSC. Context: boot, interrupts off; does not allocate.
func NextSecond(limitTSC uint64) bool {
	if !waitNotUpdating() { // inside an update: let it end first
		return false
	}
	sec := read(regSeconds)
	start := cpu.Rdtsc()
	for {
		if read(regStatusA)&aUpdating != 0 {
			return waitNotUpdating()
		}
		if read(regSeconds) != sec {
			return true // the flag rose and fell between two polls
		}
		if cpu.Rdtsc()-start > limitTSC {
			return false
		}
	}
}

// Decode converts raw register values (seconds, minutes, hours, day, month,
// year, century) under status register B into a Time.
// Context: any (the kernel calls it at boot); does not allocate.
func Decode(r [7]uint8, statusB uint8) Time {
	pm := r[2]&hourPMBit != 0
	r[2] &^= hourPMBit
	if statusB&bBinary == 0 {
		for i := range r {
			r[i] = (r[i] & 0x0f) + (r[i]>>4)*10
		}
	}
	hour := int(r[2])
	if statusB&b24Hour == 0 {
		hour %= 12
		if pm {
			hour += 12
		}
	}
	year := int(r[5])
	if r[6] >= 19 && r[6] <= 30 {
		year += int(r[6]) * 100
	} else if year < 70 {
		year += 2000
	} else {
		year += 1900
	}
	return Time{Year: year, Month: int(r[4]), Day: int(r[3]), Hour: hour, Minute: int(r[1]), Second: int(r[0])}
}

// Unix returns t as seconds since 1970-01-01 UTC.
// Context: any (the kernel calls it at boot); does not allocate.
func (t Time) Unix() int64 {
	// Days from civil date, valid for the proleptic Gregorian calendar.
	y, m := int64(t.Year), int64(t.Month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(t.Day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return days*86400 + int64(t.Hour)*3600 + int64(t.Minute)*60 + int64(t.Second)
}
