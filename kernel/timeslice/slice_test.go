package timeslice

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in string
		ns int64
		ok bool
	}{
		{"2ms", 2e6, true}, {"100us", 100e3, true}, {"1s", 1e9, true}, {"750ns", 750, true},
		{"1000s", 1e12, true}, {"1001s", 0, false}, {"99999999999999999999ms", 0, false},
		{"", 0, false}, {"ms", 0, false}, {"2", 0, false}, {"2 ms", 0, false}, {"-2ms", 0, false},
		{"2.5ms", 0, false}, {"2msx", 0, false}, {"banana", 0, false},
	} {
		ns, ok := parseDuration(c.in)
		assert.Equal(t, c.ok, ok, "parseDuration(%q)", c.in)
		assert.Equal(t, c.ns, ns, "parseDuration(%q)", c.in)
	}
}

func TestParseSliceOption(t *testing.T) {
	for _, c := range []struct {
		in string
		ns int64
		ok bool
	}{
		{"off", 0, true}, {"1ms", 1e6, true}, {"100us", 100e3, true},
		{"99us", 0, false}, {"0ms", 0, false}, {"banana", 0, false}, {"", 0, false}, {"OFF", 0, false},
	} {
		ns, ok := parseSliceOption(c.in)
		assert.Equal(t, c.ok, ok, "slice=%s", c.in)
		assert.Equal(t, c.ns, ns, "slice=%s", c.in)
	}
}

func (p layoutProblem) String() string { return p.a + p.b + p.c }

// testBinary builds this package's test binary with DWARF (go test runs
// one without) and returns its contents: a binary that links the kernel's
// rtOffsets and a Go runtime.
var testBinary = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "slicetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "kernel.test")
	cmd := exec.Command("go", "test", "-c", "-o", out, ".")
	cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, msg)
	}
	return os.ReadFile(out)
})

// imageOffsets writes the runtime layout that tools/image reads from a
// test binary's DWARF into that binary, as the image build does, and
// returns what the kernel would find there and the offsets the tool read.
func imageOffsets(t *testing.T) (runtimeOffsets, image.RuntimeOffsets) {
	data, err := testBinary()
	require.NoError(t, err)
	cp := filepath.Join(t.TempDir(), "kernel.test")
	require.NoError(t, os.WriteFile(cp, data, 0o755))
	offs, err := image.ReadRuntimeOffsets(cp)
	require.NoError(t, err, "the test binary's DWARF")
	require.NoError(t, image.WriteRuntimeOffsets(cp, offs))

	f, err := elf.Open(cp)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	require.NoError(t, err)
	var sym elf.Symbol
	for _, s := range syms {
		if s.Name == image.RuntimeOffsetsSymbol {
			sym = s
		}
	}
	require.NotZero(t, sym.Value, "no %s in the test binary", image.RuntimeOffsetsSymbol)
	require.EqualValues(t, unsafe.Sizeof(runtimeOffsets{}), sym.Size, "kernel and tool agree on the size")
	sec := f.Sections[sym.Section]
	raw, err := sec.Data()
	require.NoError(t, err)
	b := raw[sym.Value-sec.Addr:][:sym.Size]
	var o runtimeOffsets
	words := unsafe.Slice((*uint64)(unsafe.Pointer(&o)), len(b)/8)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return o, offs
}

// reseal recomputes o's check word after a test changed it, as the image
// build would.
func reseal(o *runtimeOffsets) {
	words := unsafe.Slice((*uint64)(unsafe.Pointer(o)), unsafe.Sizeof(*o)/8)
	o.check = image.CheckWord(words[2 : len(words)-1])
}

// TestRuntimeOffsetsUnfilled: a binary the image build did not patch (as
// this test binary) carries the kernel's placeholder, which the boot check
// refuses. (It also keeps rtOffsets in the binary that imageOffsets uses.)
func TestRuntimeOffsetsUnfilled(t *testing.T) {
	assert.Equal(t, "the image build did not fill them", offsetsProblem(&rtOffsets).String())
}

// TestRuntimeOffsetsRoundTrip: what the image build writes is what the
// kernel reads, field by field, and passes the boot checks.
func TestRuntimeOffsetsRoundTrip(t *testing.T) {
	o, offs := imageOffsets(t)
	assert.EqualValues(t, rtOffsetsMagic, o.magic)
	assert.EqualValues(t, 1, o.valid)
	got := unsafe.Slice((*uint64)(unsafe.Pointer(&o)), unsafe.Sizeof(o)/8)
	assert.Equal(t, offs.Words(), got[2:len(got)-1], "fields in the tool's order")
	assert.Equal(t, offs.GPreempt, o.w[gPreempt])
	assert.Equal(t, offs.PPreempt, o.w[pPreempt])
	assert.Equal(t, "", offsetsProblem(&o).String())
}

func TestOffsetsProblem(t *testing.T) {
	good, _ := imageOffsets(t)
	require.Equal(t, "", offsetsProblem(&good).String())
	for _, c := range []struct {
		name   string
		change func(o *runtimeOffsets)
		reseal bool
		want   string
	}{
		{"unfilled", func(o *runtimeOffsets) { o.valid = 0 }, false, "the image build did not fill them"},
		{"magic", func(o *runtimeOffsets) { o.magic++ }, false, "the image build did not fill them"},
		{"check word", func(o *runtimeOffsets) { o.w[gPreempt]++ }, false, "check word mismatch"},
		{"stackguard0", func(o *runtimeOffsets) { o.w[gStackguard0] = 24 }, true, "g.stackguard0 is not where compiled code reads it"},
		{"g.m in the stack bounds", func(o *runtimeOffsets) { o.w[gM] = 8 }, true, "g.m overlaps g.stack"},
		{"g.preempt on the status", func(o *runtimeOffsets) { o.w[gPreempt] = o.w[gStatus] + 2 }, true, "g.atomicstatus overlaps g.preempt"},
		{"g.preempt on g.m", func(o *runtimeOffsets) { o.w[gPreempt] = o.w[gM] + 7 }, true, "g.preempt overlaps g.m"},
		{"misaligned status", func(o *runtimeOffsets) { o.w[gStatus] += 2 }, true, "g.atomicstatus is misaligned"},
		{"misaligned m.curg", func(o *runtimeOffsets) { o.w[mCurg] += 4 }, true, "m.curg is misaligned"},
		{"m fields overlap", func(o *runtimeOffsets) { o.w[mCurg] = o.w[mP] }, true, "m.p overlaps m.curg"},
		{"preemptoff's length", func(o *runtimeOffsets) { o.w[mLocks] = o.w[mPreemptoff] + 8 }, true, "m.preemptoff overlaps m.locks"},
		{"p fields overlap", func(o *runtimeOffsets) { o.w[pSchedtick] = o.w[pStatus] }, true, "p.schedtick overlaps p.status"},
		{"outside p", func(o *runtimeOffsets) { o.w[pPreempt] = o.w[pSize] }, true, "p.preempt lies outside runtime.p"},
		{"straddles the end of g", func(o *runtimeOffsets) { o.w[gStatus] = o.w[gSize] - 2 }, true, "g.atomicstatus lies outside runtime.g"},
		{"huge offset", func(o *runtimeOffsets) { o.w[mP] = 1 << 62 }, true, "m.p lies outside runtime.m"},
		{"implausible size", func(o *runtimeOffsets) { o.w[mSize] = 0 }, true, "implausible struct sizes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.change(&o)
			if c.reseal {
				reseal(&o)
			}
			assert.Equal(t, c.want, offsetsProblem(&o).String())
		})
	}
}

func TestLayoutVerdict(t *testing.T) {
	confirmed := layoutEvidence{good: 100, bad: 3, curg: 50, running: 40, owned: 40, ticked: 5, clear: 30, matched: 3}
	why, ok := confirmed.verdict()
	assert.Equal(t, "", why)
	assert.True(t, ok)

	for _, c := range []struct {
		name   string
		change func(e *layoutEvidence)
		why    string
	}{
		{"two runtime requests are not enough", func(e *layoutEvidence) { e.matched = 2 }, ""},
		{"no tick seen to advance yet", func(e *layoutEvidence) { e.ticked = 0 }, ""},
		{"more bad than good, but few", func(e *layoutEvidence) { e.good, e.bad = 10, 20 }, ""},
		{"more bad than good", func(e *layoutEvidence) { e.good, e.bad = 40, 41 }, "more readings contradict it than confirm it"},
		{"status never running", func(e *layoutEvidence) { e.curg, e.running, e.owned, e.clear = 64, 0, 0, 0 }, "g.atomicstatus never read _Grunning"},
		{"P never running", func(e *layoutEvidence) { e.running, e.owned = 64, 0 }, "m.p never led to a running P"},
		{"tick never advanced", func(e *layoutEvidence) { e.running, e.owned, e.ticked = 256, 256, 0 }, "p.schedtick never advanced"},
		{"g.preempt never clear", func(e *layoutEvidence) { e.running, e.clear = 256, 0 }, "g.preempt never read 0"},
		{"g.preempt clear during requests", func(e *layoutEvidence) { e.running, e.clear, e.missed, e.matched = 64, 5, 3, 1 }, "g.preempt read 0 during the runtime's own preemption requests"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := confirmed
			c.change(&e)
			why, ok := e.verdict()
			assert.Equal(t, c.why, why)
			assert.False(t, ok, "confirmed")
		})
	}
}

// TestSliceLaterStaysPut checks the slice check's "look again" deadline:
// between a quarter and three eighths of a slice from now, and the same
// for every call within one eighth of a slice, so that armTimer does not
// reprogram the timer on every system call.
func TestSliceLaterStaysPut(t *testing.T) {
	saved := sliceNs
	defer func() { sliceNs = saved }()
	for _, s := range []int64{1e6, 2e6, 5e6, 7} {
		sliceNs = s
		q := max(s/8, 1)
		for _, phase := range []int64{0, gridPhase(1, 2), gridPhase(3, 4)} {
			changes := 0
			prev := int64(0)
			start := int64(1_000_000_007)
			for now := start; now < start+4*s; now += max(s/1000, 1) {
				at := sliceLater(now, phase)
				require.GreaterOrEqual(t, at, now+s/4, "slice %d phase %d now %d", s, phase, now)
				require.Less(t, at, now+s/4+q, "slice %d phase %d now %d", s, phase, now)
				if at != prev {
					changes++
					prev = at
				}
			}
			assert.LessOrEqual(t, changes, int(4*s/q)+1, "slice %d phase %d: the deadline moved more than once per grid step", s, phase)
		}
	}
}

// TestSliceGridsApart: CPUs whose checks have backed off alike take
// their timer interrupts at different instants, at least a grid step
// over the number of CPUs apart, whatever the time of their readings (on
// one grid for all, they came at the same instant and waited for each
// other's kernel lock).
func TestSliceGridsApart(t *testing.T) {
	saved := sliceNs
	defer func() { sliceNs = saved }()
	sliceNs = 2e6
	q := sliceNs / 8
	for _, n := range []int{2, 3, 4, 8, 16} {
		for now := int64(1e9); now < 1e9+3*q; now += 7_919 {
			seen := map[int64]int{}
			var ats []int64
			for id := 0; id < n; id++ {
				st := sliceCPU{calm: 2 * calmReadings}
				at := st.deadlineOn(id, n, now)
				require.GreaterOrEqual(t, at, now+2*sliceNs, "cpu %d of %d", id, n)
				require.Less(t, at, now+2*sliceNs+q, "cpu %d of %d", id, n)
				require.NotContains(t, seen, at, "cpus %d and %d of %d check at the same instant", seen[at], id, n)
				seen[at] = id
				ats = append(ats, at)
			}
			slices.Sort(ats)
			for i := 1; i < len(ats); i++ {
				require.GreaterOrEqual(t, ats[i]-ats[i-1], q/int64(n)-1, "%d cpus: checks too close", n)
			}
		}
	}
	assert.Zero(t, gridPhase(0, 4))
	assert.Zero(t, gridPhase(5, 1), "one CPU needs no shift")
}

// sliceWorkload says what a reading at now sees: whether a goroutine runs
// user code, and its g, P and schedtick.
type sliceWorkload func(now int64) (user bool, g, p uint64, tick uint32)

// cooperative is a program whose goroutines yield every 10 us and spend
// most of that in the scheduler (on g0), as the bench's Gosched row does:
// one reading in ten, spread pseudo-randomly, finds a goroutine running.
func cooperative(now int64) (bool, uint64, uint64, uint32) {
	k := now / 10e3
	return uint64(k)*0x9E3779B97F4A7C15>>56 < 26, uint64(1 + k%2), 1, uint32(k)
}

// sliceRun takes readings at the deadlines st asks for from start until
// end and returns the checks' times and, for each turn the readings found
// up (sliceUp), when; a turn found up is asked to stop as Check asks
// (st.requested), and onUp (if not nil) hears of it.
func sliceRun(st *sliceCPU, w sliceWorkload, start, end int64, onUp func(now int64)) (checks, ups []int64) {
	for now := start; now < end; now = st.deadline(now, 0) {
		checks = append(checks, now)
		user, g, p, tick := w(now)
		if st.read(user, g, p, tick, now) && !st.requested {
			st.requested = true
			ups = append(ups, now)
			if onUp != nil {
				onUp(now)
			}
		}
	}
	return checks, ups
}

// TestSliceChecksBackOffWhenCalm: in a program whose goroutines yield
// often, the checks back off to two slices apart (under TCG each costs a
// timer interrupt of some 70 us on the host), where they came a quarter
// slice apart before.
func TestSliceChecksBackOffWhenCalm(t *testing.T) {
	saved := sliceNs
	defer func() { sliceNs = saved }()
	sliceNs = 2e6
	var st sliceCPU
	const start, end = int64(1e9), int64(1e9 + 1000*2e6) // 1,000 slices
	checks, ups := sliceRun(&st, cooperative, start, end, nil)
	assert.Empty(t, ups, "no turn of the cooperative program lasts a slice")
	// Two slices apart after a reading that found nothing to time, one
	// after a reading that found a new turn (one in ten).
	assert.LessOrEqual(t, len(checks), 600, "checks in 1,000 slices")
	assert.GreaterOrEqual(t, len(checks), 450, "checks in 1,000 slices")
	for i := 1; i < len(checks); i++ {
		gap := checks[i] - checks[i-1]
		require.GreaterOrEqual(t, gap, sliceNs/4, "check %d", i)
		require.LessOrEqual(t, gap, 2*sliceNs+sliceNs/8, "check %d", i)
	}
	assert.EqualValues(t, 2*calmReadings, st.calm)
}

// TestSliceHogAfterCalm: a goroutine that starts computing in a calm
// program is found up within about three slices (two to be seen, one to
// be timed), never before it has run a slice, and the first reading that
// sees it run on ends the calm.
func TestSliceHogAfterCalm(t *testing.T) {
	saved := sliceNs
	defer func() { sliceNs = saved }()
	sliceNs = 2e6
	for i := range int64(24) {
		hog := 1.2e9 + i*sliceNs/3 + i%5 // spread over eight slices
		var st sliceCPU
		w := func(now int64) (bool, uint64, uint64, uint32) {
			if now >= hog {
				return true, 99, 1, 1 << 30
			}
			return cooperative(now)
		}
		_, ups := sliceRun(&st, w, 1e9, hog+10*sliceNs, nil)
		require.NotEmpty(t, ups, "hog at %d", hog)
		assert.GreaterOrEqual(t, ups[0]-hog, sliceNs, "hog at %d: found up before a slice", hog)
		assert.LessOrEqual(t, ups[0]-hog, 3*sliceNs+sliceNs/8, "hog at %d", hog)
		assert.Zero(t, st.calm, "hog at %d: the calm ended", hog)
	}
}

// TestSliceHogsBackToBack: with goroutines that compute without yielding
// (the ticker rows' hogs), each turn starting when the one before was
// asked to stop, the checks never back off: every turn is found up after
// a little over one slice, as before the back-off.
func TestSliceHogsBackToBack(t *testing.T) {
	saved := sliceNs
	defer func() { sliceNs = saved }()
	sliceNs = 2e6
	var st sliceCPU
	turn := uint32(0)
	w := func(now int64) (bool, uint64, uint64, uint32) { return true, uint64(10 + turn%3), 1, turn }
	maxCalm := uint8(0)
	_, ups := sliceRun(&st, func(now int64) (bool, uint64, uint64, uint32) {
		maxCalm = max(maxCalm, st.calm)
		return w(now)
	}, 1e9, 1e9+200*sliceNs, func(int64) {
		turn++ // the runtime takes the request at once: the next hog's turn
	})
	require.Greater(t, len(ups), 100, "turns found up in 200 slices")
	for i := 1; i < len(ups); i++ {
		assert.LessOrEqual(t, ups[i]-ups[i-1], sliceNs+sliceNs*3/8+sliceNs/8, "turn %d", i)
		assert.GreaterOrEqual(t, ups[i]-ups[i-1], sliceNs, "turn %d", i)
	}
	assert.Less(t, maxCalm, uint8(calmReadings), "hogs never look calm")
}

// TestTickMemoryFollowsPs feeds readings of two Ps taken on whatever CPU
// their Ms ran: each P's schedtick is compared with that P's own last
// reading, so a tick is seen to advance even when every CPU's readings
// alternate between the Ps.
func TestTickMemoryFollowsPs(t *testing.T) {
	var m tickMemory
	const p0, p1 = 0xc000010000, 0xc000020000
	readings := []struct {
		p    uint64
		tick uint32
		want int
	}{
		{p0, 5, tickFirst},
		{p1, 9, tickFirst},
		{p0, 5, tickSame},
		{p1, 10, tickAdvanced},
		{p0, 7, tickAdvanced},
		{p1, 10, tickSame},
		{p0, 0xffffffff, tickBackwards}, // far behind 7 as int32 steps go
	}
	for i, r := range readings {
		assert.Equal(t, r.want, m.note(r.p, r.tick), "reading %d", i)
	}
}

// TestTickMemoryFull: once more Ps are seen than there are slots, new Ps
// take slots in turn, and a P pushed out starts afresh.
func TestTickMemoryFull(t *testing.T) {
	var m tickMemory
	n := len(m.p)
	for i := range n {
		require.Equal(t, tickFirst, m.note(uint64(0x1000*(i+1)), 1))
	}
	assert.Equal(t, tickFirst, m.note(0xdead000, 1), "a P not seen before")
	assert.Equal(t, tickFirst, m.note(0x1000, 2), "the P in the first slot was pushed out")
	assert.Equal(t, tickAdvanced, m.note(0x3000, 2), "the third slot's P is still remembered")
	for i := range n {
		assert.NotZero(t, m.p[i])
	}
}

// TestPeekUser reads a buffer of the host process through the peeks the
// slice checks use: every byte through peekUser8 (the aligned word that
// holds it, shifted), words through peekUser32 and peekUser64, and
// refusals for misaligned addresses and for the first page.
func TestPeekUser(t *testing.T) {
	buf := make([]uint64, 4)
	for i := range buf {
		buf[i] = 0x0706050403020100 + uint64(i)*0x0808080808080808
	}
	base := uintptr(unsafe.Pointer(&buf[0]))
	for i := uintptr(0); i < 32; i++ {
		b, ok := peekUser8(base + i)
		require.True(t, ok, "byte %d", i)
		assert.Equal(t, uint8(i), b, "byte %d", i)
	}
	w, ok := peekUser32(base + 4)
	assert.True(t, ok)
	assert.Equal(t, uint32(0x07060504), w)
	d, ok := peekUser64(base + 8)
	assert.True(t, ok)
	assert.Equal(t, buf[1], d)
	_, ok = peekUser64(base + 4)
	assert.False(t, ok, "misaligned word")
	_, ok = peekUser32(base + 2)
	assert.False(t, ok, "misaligned 32-bit value")
	_, ok = peekUser64(0x800)
	assert.False(t, ok, "the first page")
	runtime.KeepAlive(buf)
}

// TestRTFieldNames checks the packed field table: every name, in order,
// with its struct letter first and its width.
func TestRTFieldNames(t *testing.T) {
	var w [19]uint64
	var got []string
	for i := range len(rtFieldWidths) {
		name, _, width := rtField(&w, i)
		assert.Contains(t, "gmp", name[:1], "struct letter of %s", name)
		got = append(got, fmt.Sprintf("%s/%d", name, width))
	}
	assert.Equal(t, []string{"g.stack/16", "g.stackguard0/8", "g.m/8", "g.preempt/1", "g.atomicstatus/4",
		"m.g0/8", "m.curg/8", "m.p/8", "m.gsignal/8", "m.locks/4", "m.mallocing/4", "m.preemptoff/16", "m.incgo/1",
		"p.status/4", "p.schedtick/4", "p.m/8", "p.preempt/1"}, got)
	assert.Len(t, rtFieldEnds, len(rtFieldWidths))
}
