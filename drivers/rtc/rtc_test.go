package rtc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestUnixMatchesTimePackage(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 23, 5, 30, 1, 0, time.UTC),
		time.Date(2099, 12, 31, 12, 0, 0, 0, time.UTC),
	} {
		rt := Time{tm.Year(), int(tm.Month()), tm.Day(), tm.Hour(), tm.Minute(), tm.Second()}
		assert.Equal(t, tm.Unix(), rt.Unix(), tm.String())
	}
}

func TestDecodeBCDAnd12Hour(t *testing.T) {
	// 2026-11-23 05:30:01 in BCD, 24-hour, century register 0x20.
	got := Decode([7]uint8{0x01, 0x30, 0x05, 0x23, 0x11, 0x26, 0x20}, b24Hour)
	assert.Equal(t, Time{2026, 11, 23, 5, 30, 1}, got)
	// 12-hour BCD: 11 PM.
	got = Decode([7]uint8{0x00, 0x00, 0x80 | 0x11, 0x01, 0x01, 0x99, 0x19}, 0)
	assert.Equal(t, Time{1999, 1, 1, 23, 0, 0}, got)
	// Binary, no century register: 26 -> 2026.
	got = Decode([7]uint8{59, 59, 23, 31, 12, 26, 0}, bBinary|b24Hour)
	assert.Equal(t, Time{2026, 12, 31, 23, 59, 59}, got)
}
