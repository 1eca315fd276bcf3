package timeslice

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Kernel-enforced goroutine time slices. The Go runtime preempts a
// goroutine that computes without blocking only when sysmon notices it has
// held its P for 10 ms, and sysmon itself sleeps up to 10 ms: a timer
// behind such a goroutine fires 10-20 ms late. The kernel's timer
// interrupt sees every CPU, so it can ask for the preemption itself, the
// way the runtime's preemptone does: set the goroutine's preempt flag and
// its stackguard0 to the stack-preempt sentinel, and send SIGURG, so the
// runtime's own asynchronous preemption runs.
//
// For that the kernel reads and writes the runtime's g, m and p. Their
// field offsets come from the image's DWARF, written into rtOffsets by the
// image build (tools/image/offsets.go). The kernel checks them at boot and
// against what it reads of the running runtime (slicelayout.go), writes
// only once those readings have confirmed them, and at the first
// disagreement logs one line and leaves preemption to sysmon, so a Go
// release with another layout degrades to the runtime's behaviour instead
// of corrupting memory.

const (
	defaultSlice = 2e6   // ns
	minSlice     = 100e3 // ns: below this the interrupts cost more than they buy
)

var (
	sliceOn atomic.Bool // read without a lock; switched off under the slices lock (refuseLayout)
	sliceNs int64       = defaultSlice
)

// sliceCPU is a CPU's slice state, which only that CPU reads and writes,
// with the kernel lock or its run-queue lock held.
type sliceCPU struct {
	// The turn being timed: goroutine g on P p at schedtick tick, seen
	// first at since (g is 0 when none is), and whether its preemption
	// has been requested.
	g, p      uint64
	tick      uint32
	since     int64
	requested bool

	req sliceReq // the request in flight, if req.g != 0

	// calm counts the readings in a row that saw no turn run on from
	// the reading before (a new turn, or no goroutine to time), up to
	// 2*calmReadings: the longer it is, the further apart the checks
	// (lookAgain).
	calm uint8
}

// calmReadings is how many readings in a row must see no turn run on
// before the checks back off: to a slice apart after calmReadings, two
// slices after twice as many (sliceCPU.lookAgain). Under TCG every timer
// interrupt costs the host some 70 us of system calls and thread
// switches (docs/performance.md, "Scheduler rows, issue 18"), so a
// program whose goroutines yield often, and which the checks can never
// help, must not pay for four checks a slice.
const calmReadings = 4

// sliceReq is a preemption the kernel asked for: the goroutine, its M and
// P, the P's schedtick then (the turn) and when it last asked.
type sliceReq struct {
	g, m, p uint64
	tick    uint32
	at      int64
}

var sliceCPUs [percpu.MaxCPUs]sliceCPU

// tickMemory remembers the schedtick each P read at its last reading,
// whichever CPU took it: a P moves between CPUs with its M, so a CPU's
// readings follow one P only while its M stays put, and under a busy
// host, where threads change CPUs at every wakeup, a CPU's last P is
// rarely the P it reads next. Guarded by the slices lock (klock.Slices).
type tickMemory struct {
	p    [2 * percpu.MaxCPUs]uint64 // the Ps seen (0: a free slot); GOMAXPROCS is at most the CPUs
	tick [2 * percpu.MaxCPUs]uint32 // each one's schedtick at its last reading
	next int                        // the slot a P not seen before takes when none is free
}

// What a reading of a P's schedtick shows against the P's last reading.
const (
	tickFirst     = iota // no earlier reading of this P is remembered
	tickSame             // the same turn, or another with no schedule between
	tickAdvanced         // the P scheduled since
	tickBackwards        // impossible for the real field: the offset is wrong
)

var pTicks tickMemory

// note records that P p read schedtick tick and reports how that compares
// with p's last reading. Context: trap (Check), slices lock held; does
// not allocate.
func (m *tickMemory) note(p uint64, tick uint32) int {
	for i, q := range m.p {
		if q != p {
			continue
		}
		d := int32(tick - m.tick[i])
		m.tick[i] = tick
		switch {
		case d < 0:
			return tickBackwards
		case d > 0:
			return tickAdvanced
		}
		return tickSame
	}
	i := m.slotFor()
	m.p[i], m.tick[i] = p, tick
	return tickFirst
}

// slotFor returns the slot a P not seen before takes: a free one, else
// the slots in turn. Context: trap (note), slices lock held; does not
// allocate.
func (m *tickMemory) slotFor() int {
	for i, q := range m.p {
		if q == 0 {
			return i
		}
	}
	i := m.next
	m.next = (m.next + 1) % len(m.p)
	return i
}

// On reports whether goroutine time slices are in force: the timer
// interrupt then calls Check. Context: any; does not allocate.
func On() bool { return sliceOn.Load() }

// Setup takes the slice= option (v, when given is true) and checks the
// clock and the runtime's offsets; Check is off unless all are good.
// Context: boot.
func Setup(v string, given bool) {
	var l klog.Line
	if given {
		ns, good := parseSliceOption(v)
		switch {
		case !good:
			l.S("warning: bad slice=").S(v).S(" (want e.g. slice=2ms, at least 100us, or slice=off): using the default").Print()
			l.Reset()
		case ns == 0:
			l.S("goroutine time slices off: preemption is left to the runtime's sysmon").Info()
			return
		default:
			sliceNs = ns
		}
	}
	if ok, why := clock.Trusted(); !ok {
		l.S("refusing goroutine time slices: the clock is untrusted (").S(why.String()).S("): preemption is left to the runtime's sysmon").Print()
		return
	}
	if p := offsetsProblem(&rtOffsets); p.a != "" {
		l.S("refusing runtime offsets (").S(p.a).S(p.b).S(p.c).S("): preemption is left to the runtime's sysmon").Print()
		return
	}
	sliceOn.Store(true)
	l.S("goroutine time slice ").MS(sliceNs).S(", in force once the runtime's layout is confirmed").Info()
}

// parseSliceOption parses the value of slice=: "off" (ns 0) or a duration
// of at least minSlice; ok is false for anything else. Context: boot
// (Setup); does not allocate.
func parseSliceOption(v string) (ns int64, ok bool) {
	if v == "off" {
		return 0, true
	}
	ns, ok = parseDuration(v)
	if !ok || ns < minSlice {
		return 0, false
	}
	return ns, true
}

// Check runs on a timer interrupt that stopped thread t in ring 3.
// It reads the goroutine running there (readG) and adds the reading to the
// layout evidence. Once the layout is trusted, if the same goroutine has
// held the same P (same schedtick) for a whole slice and may be preempted,
// it requests the preemption as preemptone does; if the turn outlives the
// request by a slice (the runtime declined at an unsafe point), it asks
// again. A request counts as taken once that turn is seen to end. It
// reports whether the rest of the entry needs the kernel lock's path:
// it made a SIGURG pending on t, which the way back to ring 3 delivers
// (package kernel's load), or the layout's verdict changed, which load
// logs (LogNews).
//
// The reads of the program's memory and c's own state (sliceCPUs) need
// no lock beyond the caller's; the evidence that all CPUs share is
// counted under the slices lock (noteReading), held for those stores
// alone, and a request's two stores into the runtime are made under it
// too, only while the layout is trusted (requestPreempt): once another
// CPU's reading refused it, nothing more is written.
// Context: trap, kernel lock or c's run-queue lock held, t stopped on c;
// reads and writes the program's memory only where it is mapped, with
// the fault-tolerant accesses; does not allocate.
func Check(c *percpu.CPU, t int, f *x86.TrapFrame) (needsLock bool) {
	return checkTurn(c, t, f) || newsPending.Load()
}

// checkTurn is Check less the news: it reports whether it asked for a
// preemption (a SIGURG pending on t). Context: as Check's.
func checkTurn(c *percpu.CPU, t int, f *x86.TrapFrame) (requested bool) {
	st := &sliceCPUs[c.ID]
	if st.req.g != 0 {
		if ended, known := turnEnded(&st.req); ended || !known {
			if ended {
				c.SlicesTaken++
			}
			st.req = sliceReq{}
		}
	}
	var v gview
	kind, why := readG(&threadtab.Threads[t], f.RSP, &v)
	on, trusted := noteReading(c, &v, kind, why)
	if !on {
		return false
	}
	now := clock.Nanotime()
	if !st.read(kind == viewUser, v.g, v.p, v.tick, now) || !trusted || !v.quiet {
		return false
	}
	if st.requested && (st.req.g != v.g || now-st.req.at < sliceNs) {
		return false // taken, or asked less than a slice ago
	}
	if !requestPreempt(c, sched.TID(t), v.g) {
		return false
	}
	if !st.requested {
		st.requested = true
		c.SlicesRequested++
	}
	st.req = sliceReq{g: v.g, m: v.m, p: v.p, tick: v.tick, at: now}
	return true
}

// noteReading adds reading v of kind to the evidence that the CPUs share,
// under the slices lock: its P's schedtick against that P's last reading
// (pTicks), what it confirmed and its verdict (layout). It reports whether
// slicing is still on and whether the layout is trusted.
// Context: trap (Check), kernel lock or c's run-queue lock held; does
// not allocate.
func noteReading(c *percpu.CPU, v *gview, kind int, why string) (on, trusted bool) {
	klock.Slices.Lock(c)
	layout.confirm(v.confirms)
	if kind == viewUser {
		switch pTicks.note(v.p, v.tick) {
		case tickBackwards:
			kind, why = viewFailed, "p.schedtick went backwards"
		case tickAdvanced:
			layout.ticked++
		}
	}
	on = layout.record(kind, why)
	trusted = layout.trusted
	klock.Slices.Unlock(c)
	return on, trusted
}

// requestPreempt asks for goroutine g's preemption as the runtime's
// preemptone does: g.preempt, then g.stackguard0 = stackPreempt, then
// SIGURG to its thread t, pending for the way back to ring 3 to deliver
// (thread.SignalRunning). The two stores are made under the slices lock,
// if the layout is still trusted: another CPU's reading may have refused
// it since this check's (refuseLayout, under the same lock), and after
// the first disagreement the kernel writes nothing into the runtime.
// Context: trap, kernel lock or c's run-queue lock held, t stopped on c;
// does not allocate.
func requestPreempt(c *percpu.CPU, t sched.TID, g uint64) bool {
	klock.Slices.Lock(c)
	ok := layout.trusted && pokeUser8(uintptr(g+rtOffsets.w[gPreempt]), 1) && pokeUser64(uintptr(g+gGuard0), stackPreempt)
	klock.Slices.Unlock(c)
	if !ok {
		return false
	}
	sliceSent[t] = true
	thread.SignalRunning(c, t, int(unix.SIGURG), abi.SITkill, 1, 0)
	return true
}

// turnEnded reports whether the turn r asked to end has ended: its P has
// scheduled since (schedtick moved), or its M runs another goroutine or
// holds another P. known is false if that memory cannot be read.
// Context: trap, kernel lock or the CPU's run-queue lock held; does not
// allocate.
func turnEnded(r *sliceReq) (ended, known bool) {
	o := &rtOffsets
	tick, ok1 := peekUser32(uintptr(r.p + o.w[pSchedtick]))
	curg, ok2 := peekUser64(uintptr(r.m + o.w[mCurg]))
	p, ok3 := peekUser64(uintptr(r.m + o.w[mP]))
	if !ok1 || !ok2 || !ok3 {
		return false, false
	}
	return tick != r.tick || curg != r.g || p != r.p, true
}

// Deadline returns when c's next slice check is due, or 0. It runs
// on every way back to ring 3 (armTimer), so what it returns must not
// move with every call: a deadline that changes is a timer reprogrammed
// (a WRMSR or an APIC write, several microseconds under TCG), on every
// system call. The "look again later" deadlines are therefore rounded up
// to a grid of an eighth of a slice (sliceAfter), and stay put for that
// long. Context: trap (armTimer), kernel lock or c's run-queue lock
// held (the state is c's); does not allocate.
func Deadline(c *percpu.CPU, now int64) int64 {
	if !sliceOn.Load() || threadtab.Sched.CPUs[c.ID].Cur == sched.None {
		return 0
	}
	return sliceCPUs[c.ID].deadlineOn(c.ID, percpu.NOnline, now)
}

// deadlineOn is deadline for CPU id of n, whose grid of check times is
// shifted by its share of a step (gridPhase).
// Context: trap (Deadline), kernel lock or the CPU's run-queue lock
// held; does not allocate.
func (st *sliceCPU) deadlineOn(id, n int, now int64) int64 {
	return st.deadline(now, gridPhase(id, n))
}

// read takes a reading into st: user says a goroutine g runs user code on
// P p at schedtick tick (else nothing is to be timed right now). It
// reports whether that goroutine's turn has now run for a whole slice
// since st first saw it. A reading that sees no turn run on from the
// reading before makes st calmer; one that does ends the calm.
// Context: trap (Check), kernel lock held; does not allocate.
func (st *sliceCPU) read(user bool, g, p uint64, tick uint32, now int64) (sliceUp bool) {
	if !user || st.g != g || st.p != p || st.tick != tick {
		st.calm = min(st.calm+1, 2*calmReadings)
		if !user {
			st.g = 0 // nothing to preempt here right now
			return false
		}
		st.g, st.p, st.tick, st.since, st.requested = g, p, tick, now, false
		return false
	}
	st.calm = 0
	return now-st.since >= sliceNs
}

// deadline returns when the next check is due after a reading at now: a
// slice after the timed turn was first seen, or, when a request is out
// or no goroutine is being timed, lookAgain from now (on the CPU's
// grid, shifted by phase: see Deadline and gridPhase). Context: trap
// (armTimer), kernel lock or the CPU's run-queue lock held; does not
// allocate.
func (st *sliceCPU) deadline(now, phase int64) int64 {
	if st.g != 0 && !st.requested {
		return max(st.since+sliceNs, sliceLater(now, phase))
	}
	return sliceAfter(now, st.lookAgain(), phase)
}

// lookAgain returns how long after a reading that timed nothing the next
// check comes. Normally a quarter slice, so that the next goroutine's
// turn is timed from close to its start (after a request, the turn that
// follows it is a hog's again in a program with hogs): a hog then runs a
// little over one slice (a full slice later, up to two). Once the
// readings have been calm (calmReadings in a row saw no turn run on: the
// goroutines yield or block often, so no check finds anything to do),
// one slice, and after twice as many two slices: a hog that starts in a
// calm program is first seen at most about two slices later and asked to
// stop a slice after that, still well ahead of sysmon's 10-20 ms, and
// the first reading that sees a turn run on ends the calm.
// Context: trap (armTimer), kernel lock held; does not allocate.
func (st *sliceCPU) lookAgain() int64 {
	switch {
	case st.calm >= 2*calmReadings:
		return 2 * sliceNs
	case st.calm >= calmReadings:
		return sliceNs
	}
	return sliceNs / 4
}

// sliceLater returns the first point of the grid of sliceNs/8, shifted
// by phase, at or after a quarter slice from now: between a quarter and
// three eighths of a slice from now, the same for every now within one
// grid step. Context: trap, kernel lock held; does not allocate.
func sliceLater(now, phase int64) int64 { return sliceAfter(now, sliceNs/4, phase) }

// sliceAfter returns the first point of the grid of sliceNs/8, shifted
// by phase, at or after now+d: the same for every now within one grid
// step, so that armTimer does not reprogram the timer on every system
// call. Context: trap, kernel lock held; does not allocate.
func sliceAfter(now, d, phase int64) int64 {
	q := max(sliceNs/8, 1)
	at := now + d - phase
	return (at+q-1)/q*q + phase
}

// gridPhase returns the shift of CPU id's grid of check times, one of n
// CPUs: the CPUs' grids are spread evenly over one grid step. On one
// grid, every CPU whose checks had backed off to the same interval took
// its timer interrupt at the same instant, and each check takes the
// kernel lock: in one boot of the scheduler rows at 4 vCPUs, 142 of the
// kernel lock's 380 contended acquisitions were a timer interrupt
// waiting for another CPU's (docs/performance.md, "Issue 18, timer
// interrupts without the kernel lock"). The checks take no kernel lock
// now (package kernel's fastInterrupt), but the spread still keeps the
// CPUs' interrupts, and their slices lock holds, apart.
// Context: trap or host tests; does not allocate.
func gridPhase(id, n int) int64 {
	if n <= 1 {
		return 0
	}
	return max(sliceNs/8, 1) * int64(id%n) / int64(n)
}

// peekUser64 reads an aligned word of the program's memory if its page is
// mapped, with the fault-tolerant load (vm.Load64: a page that is not
// mapped fails the load, nothing is faulted in). These reads are the
// slice checks' whole cost, some twenty of them on every check with the
// kernel lock held, so they use the processor's own page walk instead of
// one in software (mm.KPT.Lookup, ten times the instructions under TCG).
// Unlike the system calls' user accesses they do not refuse a page the
// program made PROT_NONE (mapped for the kernel only): what they read
// there is the program's own data, which only feeds the layout checks'
// counts, and a runtime's g, m or p never lives in such a page.
// Context: trap (time-slice checks and SIGURG delivery), kernel lock held;
// does not allocate or fault anything in.
func peekUser64(addr uintptr) (uint64, bool) {
	if addr%8 != 0 || !inUserHalf(addr, 8) {
		return 0, false
	}
	return vm.Load64(addr)
}

// peekUser8 reads a byte of the program's memory if its page is mapped,
// through the aligned 32-bit word that holds it (peekUser64).
// Context: trap (time-slice checks and SIGURG delivery), kernel lock held;
// does not allocate or fault anything in.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func peekUser8(addr uintptr) (uint8, bool) {
	w, ok := peekUser32(addr &^ 3)
	return uint8(w >> (8 * (addr & 3))), ok
}

// peekUser32 reads an aligned 32-bit value of the program's memory if its
// page is mapped (peekUser64). Context: trap (time-slice checks and
// SIGURG delivery), kernel lock held; does not allocate or fault anything
// in.
func peekUser32(addr uintptr) (uint32, bool) {
	if addr%4 != 0 || !inUserHalf(addr, 4) {
		return 0, false
	}
	return vm.Load32(addr)
}

// inUserHalf reports whether [addr, addr+n) lies in the program's half of
// the address space, past its first page. Context: trap; does not
// allocate.
func inUserHalf(addr, n uintptr) bool {
	return addr >= 0x1000 && addr < vm.UserTop && n <= vm.UserTop-addr
}

// pokeUser8 writes a byte of the program's memory if its page is mapped
// writable, with the fault-tolerant copy (vm.CopyToUser): without the
// kernel lock (a check on the run-queue lock alone) another CPU's munmap
// may unmap the page between the look and the store, which then fails
// instead of faulting in the kernel. Context: trap (Check), kernel lock
// or the CPU's run-queue lock held; does not allocate or fault anything
// in.
func pokeUser8(addr uintptr, v uint8) bool {
	b := [1]byte{v}
	return vm.PresentWritable(addr) && vm.CopyToUser(addr, b[:]) == 1
}

// pokeUser64 writes an aligned word of the program's memory if its page is
// mapped writable, with the fault-tolerant store (vm.Store64; see
// pokeUser8). Context: trap (Check), kernel lock or the CPU's run-queue
// lock held; does not allocate or fault anything in.
func pokeUser64(addr uintptr, v uint64) bool {
	return addr%8 == 0 && vm.PresentWritable(addr) && vm.Store64(addr, v)
}

// parseDuration parses an unsigned decimal with a unit (ns, us, ms or s)
// of at most 1000 s.
// Context: boot (Setup); does not allocate.
func parseDuration(s string) (int64, bool) {
	var n int64
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int64(s[i]-'0')
		if n > 1e12 {
			return 0, false
		}
		i++
	}
	if i == 0 {
		return 0, false
	}
	var unit int64
	switch s[i:] {
	case "ns":
		unit = 1
	case "us":
		unit = 1e3
	case "ms":
		unit = 1e6
	case "s":
		unit = 1e9
	default:
		return 0, false
	}
	if n > 1e12/unit {
		return 0, false // over 1000 s
	}
	return n * unit, true
}
