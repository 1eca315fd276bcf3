package clocksrc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCPUIDHz(t *testing.T) {
	tests := []struct {
		name    string
		maxLeaf uint32
		l15     [3]uint32
		l16     uint32
		hvMax   uint32
		hvKHz   uint32
		hz      uint64
		src     Source
	}{
		{"nothing", 0xd, [3]uint32{}, 0, 0, 0, 0, None},
		{"leaf 0x15 with crystal", 0x16, [3]uint32{2, 176, 24000000}, 2100, 0, 0, 2112000000, CPUID15},
		{"leaf 0x15 beyond max leaf is ignored", 0x14, [3]uint32{2, 176, 24000000}, 0, 0, 0, 0, None},
		{"leaf 0x15 without crystal falls to 0x16", 0x16, [3]uint32{2, 176, 0}, 2100, 0, 0, 2100000000, CPUID16},
		{"hypervisor leaf", 0xd, [3]uint32{}, 0, 0x40000010, 2899999, 2899999000, Hypervisor},
		{"hypervisor leaf beats 0x16", 0x16, [3]uint32{}, 3000, 0x40000011, 2500000, 2500000000, Hypervisor},
		{"hypervisor max leaf too small", 0xd, [3]uint32{}, 0, 0x40000001, 2500000, 0, None},
		{"hypervisor max leaf garbage", 0xd, [3]uint32{}, 0, 0xffffffff, 2500000, 0, None},
		{"hypervisor leaf zero", 0xd, [3]uint32{}, 0, 0x40000010, 0, 0, None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hz, src := CPUIDHz(tt.maxLeaf, tt.l15, tt.l16, tt.hvMax, tt.hvKHz)
			assert.Equal(t, tt.hz, hz)
			assert.Equal(t, tt.src, src)
		})
	}
}

func TestDelta(t *testing.T) {
	assert.Equal(t, uint64(10), Delta(5, 15, 24))
	assert.Equal(t, uint64(0x20), Delta(0xfffff0, 0x10, 24), "24-bit wrap")
	assert.Equal(t, uint64(0x20), Delta(0xfffffff0, 0x10, 32), "32-bit wrap")
	assert.Equal(t, uint64(3), Delta(0xffff, 2, 16), "16-bit wrap")
	assert.Equal(t, uint64(0x20), Delta(^uint64(0)-0xf, 0x10, 64), "64-bit wrap")
}

func TestRate(t *testing.T) {
	// 21,000,000 TSC ticks while the PM timer counted 10 ms.
	assert.Equal(t, uint64(2100026400), Rate(21000000, 35795, PMTimerHz))
	assert.Equal(t, uint64(0), Rate(1, 0, PITHz), "no reference ticks")
	assert.Equal(t, uint64(0), Rate(^uint64(0), 1, ^uint64(0)), "overflow")
	assert.Equal(t, uint64(3e9), Rate(3e9*100, 100*100e6, 100e6), "large counts stay exact")
}

func TestDiffPPM(t *testing.T) {
	assert.Equal(t, uint64(0), DiffPPM(0, 0))
	assert.Equal(t, uint64(1e6), DiffPPM(5, 0))
	assert.Equal(t, uint64(3000), DiffPPM(2000e6, 1994e6))
	assert.Equal(t, uint64(3000), DiffPPM(1994e6, 2000e6), "symmetric")
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name    string
		ms      []Measurement
		want    Decision
		trusted bool
	}{
		{"nothing", nil, Decision{Why: NoSource}, false},
		{"one source", []Measurement{{HPET, 2.1e9}},
			Decision{Hz: 2.1e9, Src: HPET, Trusted: true}, true},
		{"two agree", []Measurement{{HPET, 2.1e9}, {PMTimer, 2.106e9}},
			Decision{Hz: 2.1e9, Src: HPET, Check: PMTimer, CheckHz: 2.106e9, DiffPPM: 2849, Trusted: true}, true},
		{"absent sources are skipped", []Measurement{{HPET, 0}, {PMTimer, 0}, {PIT, 3e9}},
			Decision{Hz: 3e9, Src: PIT, Trusted: true}, true},
		{"cpuid first, checked by a calibration", []Measurement{{Hypervisor, 2.5e9}, {PIT, 2.49e9}},
			Decision{Hz: 2.5e9, Src: Hypervisor, Check: PIT, CheckHz: 2.49e9, DiffPPM: 4000, Trusted: true}, true},
		{"the agreeing pair wins over a bad first source", []Measurement{{HPET, 2.5e9}, {PMTimer, 3e9}, {PIT, 3.01e9}},
			Decision{Hz: 3e9, Src: PMTimer, Check: PIT, CheckHz: 3.01e9, DiffPPM: 3322, Trusted: true}, true},
		{"disagreement is untrusted", []Measurement{{HPET, 2e9}, {PIT, 3e9}},
			Decision{Hz: 2e9, Src: HPET, Check: PIT, CheckHz: 3e9, DiffPPM: 333333, Why: Disagree}, false},
		{"implausible frequency is left out", []Measurement{{PIT, 20e6}, {PMTimer, 2e9}},
			Decision{Hz: 2e9, Src: PMTimer, Trusted: true}, true},
		{"only implausible", []Measurement{{PIT, 20e6}},
			Decision{Hz: 20e6, Src: PIT, Why: Implausible}, false},
		{"base-frequency estimate alone is untrusted", []Measurement{{CPUID16, 2e9}},
			Decision{Hz: 2e9, Src: CPUID16, Why: OnlyEstimate}, false},
		{"base-frequency estimate is not a check", []Measurement{{PIT, 2.2e9}, {CPUID16, 2e9}},
			Decision{Hz: 2.2e9, Src: PIT, Trusted: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Choose(tt.ms)
			assert.Equal(t, tt.want, d)
			assert.Equal(t, tt.trusted, d.Trusted)
		})
	}
}

func TestSourceString(t *testing.T) {
	for s := None; s <= CPUID16; s++ {
		require.NotEmpty(t, s.String())
	}
	assert.Equal(t, "HPET", HPET.String())
	for p := NoProblem; p <= Disagree; p++ {
		require.NotEmpty(t, p.String())
	}
}

func TestHPETHz(t *testing.T) {
	assert.Equal(t, uint64(100000000), HPETHz(10000000<<32|0x8086a201), "QEMU's 100 MHz HPET")
	assert.Equal(t, uint64(14318179), HPETHz(69841279<<32), "the classic 14.318 MHz HPET")
	assert.Equal(t, uint64(0), HPETHz(^uint64(0)), "no device: all ones")
	assert.Equal(t, uint64(0), HPETHz(0x8086a201), "period 0")
}
