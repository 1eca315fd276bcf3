package kernel

import (
	"github.com/gometal/gometal/kernel/mm"
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
// against what it observes; if anything disagrees it logs one line and
// leaves preemption to sysmon, so a Go release with another layout
// degrades to the runtime's behaviour instead of corrupting memory.

// rtOffsetsMagic is "gometal1"; tools/image/offsets.go writes after it.
const rtOffsetsMagic = 0x316c6174656d6f67

// runtimeOffsets is filled in the image file by the image build.
type runtimeOffsets struct {
	magic, valid                         uint64
	gStackguard0, gM, gPreempt, gStatus  uint64
	mG0, mCurg, mP, mGsignal, pSchedtick uint64
	check                                uint64
}

var rtOffsets = runtimeOffsets{magic: rtOffsetsMagic}

// Runtime constants the slice check relies on (runtime/stack.go,
// runtime/runtime2.go). They have been stable for many releases; the
// dynamic checks below catch a change.
const (
	stackPreempt = 0xfffffffffffffade // uintptr(-1314)
	gRunning     = 2                  // _Grunning
	gStackLo     = 0                  // g.stack.lo: fixed by the compiler's prologues
	gStackHi     = 8
	gGuard0      = 16 // g.stackguard0: fixed by the compiler's prologues
	defaultSlice = 2e6
)

var (
	sliceOn   bool
	sliceNs   int64 = defaultSlice
	sliceGood int   // observations consistent with the offsets
	sliceBad  int   // observations that contradict them
)

// setupSlices reads the slice= option and checks the offsets. Context:
// boot.
func setupSlices() {
	var l logLine
	switch v, ok := kernelOptionValue("slice="); {
	case ok && v == "off":
		l.s("goroutine time slices off: preemption is left to the runtime's sysmon").info()
		return
	case ok:
		ns, good := parseDuration(v)
		if !good || ns < 100e3 {
			l.s("warning: bad slice=").s(v).s(" (want e.g. slice=2ms, at least 100us, or slice=off): using the default").print()
			l = logLine{}
		} else {
			sliceNs = ns
		}
	}
	if why := offsetsProblem(&rtOffsets); why != "" {
		l.s("refusing runtime offsets (").s(why).s("): preemption is left to the runtime's sysmon").print()
		return
	}
	sliceOn = true
	l.s("goroutine time slice ").ms(sliceNs).info()
}

// offsetsProblem returns why the offsets cannot be trusted, or "".
func offsetsProblem(o *runtimeOffsets) string {
	if o.magic != rtOffsetsMagic || o.valid != 1 {
		return "the image build did not fill them"
	}
	words := [...]uint64{o.gStackguard0, o.gM, o.gPreempt, o.gStatus, o.mG0, o.mCurg, o.mP, o.mGsignal, o.pSchedtick}
	check := uint64(rtOffsetsMagic)
	for i, w := range words {
		check ^= w * uint64(i+3)
		if w >= 4096 {
			return "an offset is out of range"
		}
	}
	if check != o.check {
		return "check word mismatch"
	}
	if o.gStackguard0 != gGuard0 {
		return "g.stackguard0 is not where compiled code reads it"
	}
	for _, w := range [...]uint64{o.gM, o.gPreempt, o.gStatus} {
		if w < 32 {
			return "a g field overlaps the stack bounds"
		}
	}
	if o.gM%8 != 0 || o.mG0%8 != 0 || o.mCurg%8 != 0 || o.mP%8 != 0 || o.mGsignal%8 != 0 || o.gStatus%4 != 0 || o.pSchedtick%4 != 0 {
		return "misaligned field"
	}
	if o.mG0 == o.mCurg || o.mCurg == o.mP || o.mG0 == o.mGsignal || o.mCurg == o.mGsignal {
		return "m fields overlap"
	}
	return ""
}

// sliceCheck runs on a timer interrupt that stopped thread t in ring 3:
// if the same goroutine has held the same P (same schedtick) for a whole
// slice, it requests the goroutine's preemption. Context: trap, kernel
// lock held; reads the program's memory only where it is mapped.
func sliceCheck(c *percpu, t int, f *TrapFrame) {
	th := &threads[t]
	o := &rtOffsets
	g, ok1 := peekUser64(th.fsBase - 8)
	lo, ok2 := peekUser64(uintptr(g + gStackLo))
	hi, ok3 := peekUser64(uintptr(g + gStackHi))
	if !ok1 || !ok2 || !ok3 || f.RSP < lo || f.RSP >= hi {
		c.slG = 0 // not on a goroutine stack right now (or mid-switch)
		return
	}
	m, ok1 := peekUser64(uintptr(g + o.gM))
	curg, ok2 := peekUser64(uintptr(m + o.mCurg))
	g0, ok3 := peekUser64(uintptr(m + o.mG0))
	gsig, ok4 := peekUser64(uintptr(m + o.mGsignal))
	switch {
	case ok1 && ok2 && ok3 && ok4 && g != 0 && g == curg:
		sliceGood++ // a goroutine that is its M's current one: the layout fits
	case ok1 && ok3 && g == g0, ok1 && ok4 && g == gsig:
		c.slG = 0 // the scheduler or a signal handler: nothing to preempt
		return
	default:
		sliceBad++
		if sliceBad > 20 && sliceGood == 0 {
			sliceOn = false
			logs("runtime layout check failed (g.m.curg does not lead back to the running g): preemption is left to the runtime's sysmon")
		}
		return
	}
	p, ok1 := peekUser64(uintptr(m + o.mP))
	status, ok2 := peekUser32(uintptr(g + o.gStatus))
	tick, ok3 := peekUser32(uintptr(p + o.pSchedtick))
	if g != curg || p == 0 || !ok1 || !ok2 || !ok3 || status != gRunning {
		c.slG = 0 // g0, a signal handler, or not running user code on a P
		return
	}
	now := nanotime()
	if c.slG != g || c.slP != p || c.slTick != tick {
		if c.slRequested {
			c.slicesTaken++ // another goroutine (or another turn) since our request
		}
		c.slG, c.slP, c.slTick, c.slSince, c.slRequested = g, p, tick, now, false
		return
	}
	if c.slRequested || now-c.slSince < sliceNs {
		return
	}
	if !pokeUser8(uintptr(g+o.gPreempt), 1) || !pokeUser64(uintptr(g+o.gStackguard0), stackPreempt) {
		return
	}
	c.slRequested = true
	c.slicesRequested++
	sendSignal(c.cur, int(unix.SIGURG), siTkill, 1, 0)
}

// sliceDeadline returns when c's next slice check is due, or 0.
func sliceDeadline(c *percpu, now int64) int64 {
	if !sliceOn || c.cur == noThread {
		return 0
	}
	if c.slG != 0 && !c.slRequested {
		return max(c.slSince+sliceNs, now+sliceNs/4)
	}
	return now + sliceNs
}

// peekUser64 reads a word of the program's memory if it is mapped.
func peekUser64(addr uintptr) (uint64, bool) {
	if addr%8 != 0 || !presentUser(addr) {
		return 0, false
	}
	return *(*uint64)(ptr(addr)), true
}

func peekUser32(addr uintptr) (uint32, bool) {
	if addr%4 != 0 || !presentUser(addr) {
		return 0, false
	}
	return *(*uint32)(ptr(addr)), true
}

func pokeUser8(addr uintptr, v uint8) bool {
	if !presentWritable(addr) {
		return false
	}
	*(*uint8)(ptr(addr)) = v
	return true
}

func pokeUser64(addr uintptr, v uint64) bool {
	if addr%8 != 0 || !presentWritable(addr) {
		return false
	}
	*(*uint64)(ptr(addr)) = v
	return true
}

// presentUser reports whether addr is in a mapped, user-readable page.
func presentUser(addr uintptr) bool {
	if addr < 0x1000 || addr >= userTop {
		return false
	}
	_, flags, ok := kpt.Lookup(addr)
	return ok && flags&mm.PTEUser != 0
}

// kernelOptionValue returns the value of a KEY= kernel option.
func kernelOptionValue(key string) (string, bool) {
	for i := 0; i < cmdline.NKernel; i++ {
		w := cmdline.Word(cmdline.Kernel[i])
		if len(w) > len(key) && string(w[:len(key)]) == key {
			return unsafeString(w[len(key):]), true
		}
	}
	return "", false
}

// parseDuration parses an unsigned decimal with a unit: ns, us, ms or s.
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
	switch s[i:] {
	case "ns":
		return n, true
	case "us":
		return n * 1e3, true
	case "ms":
		return n * 1e6, true
	case "s":
		return n * 1e9, true
	}
	return 0, false
}
