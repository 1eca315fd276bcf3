package timeslice

import (
	"strings"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
)

// The runtime's g, m and p as the time-slice check (slice.go) sees them:
// field offsets from the image's DWARF, checked at boot (offsetsProblem)
// and against what the kernel reads of the running runtime (readG). The
// kernel writes into the runtime's memory only after those readings have
// confirmed every field, and stops at the first reading that contradicts
// a field that must always hold. docs/slices.md lists the checks.

// rtOffsetsMagic is "gometal2"; tools/image/offsets.go writes after it.
const rtOffsetsMagic = 0x326c6174656d6f67

// runtimeOffsets is filled in the image file by the image build: the sizes
// of runtime.g, m and p, then the offsets, in the order of
// tools/image.RuntimeOffsets (w, indexed by gSize...pPreempt), then a
// check word.
type runtimeOffsets struct {
	magic, valid uint64
	w            [nOffsets]uint64
	check        uint64
}

// Indexes into runtimeOffsets.w: the struct sizes, then the field
// offsets in the order of rtFieldNames after g.stack.
const (
	gSize = iota
	mSize
	pSize
	gStackguard0
	gM
	gPreempt
	gStatus
	mG0
	mCurg
	mP
	mGsignal
	mLocks
	mMallocing
	mPreemptoff
	mIncgo
	pStatus
	pSchedtick
	pM
	pPreempt
	nOffsets
)

var rtOffsets = runtimeOffsets{magic: rtOffsetsMagic}

// Runtime constants the checks rely on (runtime/runtime2.go, stack.go).
// They have been stable for many releases; the readings catch a change.
const (
	gRunning       = 2                  // _Grunning
	gSyscall       = 3                  // _Gsyscall
	gScan          = 0x1000             // _Gscan, or'ed into a status
	pRunning       = 1                  // _Prunning
	pDead          = 4                  // _Pdead, the highest P status
	stackPreempt   = 0xfffffffffffffade // uintptr(-1314)
	stackPoisonMin = 0xfffffffffffff000 // uintptr(-4096): stackguard0 at or above is a request or debug poison
	gStackLo       = 0                  // g.stack.lo: fixed by the compiler's prologues
	gStackHi       = 8
	gGuard0        = 16 // g.stackguard0: fixed by the compiler's prologues
)

// The fields the kernel reads or writes, g.stack (fixed at 0) first,
// then those whose offsets runtimeOffsets.w holds from gStackguard0 on,
// in its order: their names one after another in rtFieldNames, each
// ending where rtFieldEnds says (a name's first letter is its struct),
// their widths in bytes in rtFieldWidths. Strings, not a table of structs with
// string fields, which the image would carry as pointers and code to
// build (issue 16's budget). m.preemptoff is a string: pointer, length.
const (
	rtFieldNames  = "g.stackg.stackguard0g.mg.preemptg.atomicstatusm.g0m.curgm.pm.gsignalm.locksm.mallocingm.preemptoffm.incgop.statusp.schedtickp.mp.preempt"
	rtFieldEnds   = "\x07\x14\x17\x20\x2e\x32\x38\x3b\x44\x4b\x56\x62\x69\x71\x7c\x7f\x88"
	rtFieldWidths = "\x10\x08\x08\x01\x04\x08\x08\x08\x08\x04\x04\x10\x01\x04\x04\x08\x01"
)

// rtField returns field i's name, offset and width, its offset from
// offsets w (g.stack's is gStackLo). Context: boot; does not allocate.
func rtField(w *[nOffsets]uint64, i int) (name string, off, width uint64) {
	start := 0
	off = gStackLo
	if i > 0 {
		start = int(rtFieldEnds[i-1])
		off = w[i+2]
	}
	return rtFieldNames[start:rtFieldEnds[i]], off, uint64(rtFieldWidths[i])
}

// layoutProblem says why the offsets cannot be trusted: the three parts
// printed in a row ("g.preempt", " overlaps ", "g.m"); all empty if none.
type layoutProblem struct{ a, b, c string }

// offsetsProblem checks the offsets at boot: the image build filled them
// (valid flag, check word), every field lies inside its struct (whose size
// is plausible), is aligned to its width, does not overlap another, and
// g.stackguard0 is at 16 where compiled prologues read it.
// Context: boot (Setup); does not allocate.
func offsetsProblem(o *runtimeOffsets) (p layoutProblem) {
	w := &o.w
	check := uint64(rtOffsetsMagic)
	sizesOK := true
	for i, x := range w {
		check ^= x * uint64(i+3)
		if i <= pSize {
			sizesOK = sizesOK && x >= 64 && x <= 1<<16
		}
	}
	switch {
	case o.magic != rtOffsetsMagic || o.valid != 1:
		p.a = "the image build did not fill them"
	case check != o.check:
		p.a = "check word mismatch"
	case !sizesOK:
		p.a = "implausible struct sizes"
	case w[gStackguard0] != gGuard0:
		p.a = "g.stackguard0 is not where compiled code reads it"
	}
	for i := 0; i < len(rtFieldWidths) && p.a == ""; i++ {
		name, off, width := rtField(w, i)
		size := w[strings.IndexByte("gmp", name[0])]
		switch {
		case off > size || width > size-off:
			p = layoutProblem{name, " lies outside runtime.", name[:1]}
		case off%min(width, 8) != 0:
			p.a, p.b = name, " is misaligned"
		}
		for j := 0; j < i && p.a == ""; j++ {
			other, eoff, ewidth := rtField(w, j)
			if other[0] == name[0] && off < eoff+ewidth && eoff < off+width {
				p = layoutProblem{name, " overlaps ", other}
			}
		}
	}
	return p
}

// What a reading of a stopped thread found (readG).
const (
	viewUser   = iota // a goroutine running on its own stack with its M's P: the view is complete
	viewOther         // g0, a signal handler, a vDSO call, a system call: nothing to preempt
	viewBad           // contradicts the layout, or a switch half done
	viewFailed        // contradicts a field that must always hold
)

// gview is one reading of the goroutine a stopped thread runs.
type gview struct {
	g, m, p  uint64
	sg       uint64 // g.stackguard0
	tick     uint32 // p.schedtick
	preempt  uint8  // g.preempt
	pPreempt uint8  // p.preempt
	owned    bool   // the P reads _Prunning
	quiet    bool   // preemptible: g _Grunning, P _Prunning, m holds no locks, is not allocating, has no preemptoff, is not in cgo
	confirms uint8  // what the reading confirmed, for the layout's evidence (confirmCurg...)
}

// What a reading confirmed (gview.confirms), counted in layout under the
// slices lock (layoutEvidence.confirm) once the reading is done.
const (
	confirmCurg    = 1 << iota // the g is its M's curg, every field in range
	confirmRunning             // ... and read _Grunning
	confirmOwned               // ... and its M's P read _Prunning, with p.m leading back
	confirmClear               // ... and g.preempt read 0 with no request pending
)

// readG reads the goroutine thread th runs with stack pointer rsp: the
// g in its TLS slot must own the stack holding rsp and be its M's curg,
// and the fields must hold values of their types. It fills in v, which
// the caller passes zeroed, returns the view's kind and, for viewFailed,
// which field failed, and counts in layout what the reading confirmed in
// v.confirms (set even for a view it does not complete: the view's other
// fields stay zero then). Context: trap, kernel lock or the CPU's run-queue lock
// held, th stopped on this CPU; reads only mapped user memory, with
// the fault-tolerant loads; does not allocate.
func readG(th *threadtab.Thread, rsp uint64, v *gview) (kind int, why string) {
	o := &rtOffsets
	g, ok := peekUser64(th.FSBase - 8)
	if !ok || g == 0 {
		return viewBad, ""
	}
	m, okm := peekUser64(uintptr(g + o.w[gM]))
	g0, ok0 := peekUser64(uintptr(m + o.w[mG0]))
	gs, oks := peekUser64(uintptr(m + o.w[mGsignal]))
	curg, okc := peekUser64(uintptr(m + o.w[mCurg]))
	if !onStack(g, rsp) {
		// The runtime's vDSO calls and a signal handler's first
		// instructions run on g0's or gsignal's stack with g in TLS.
		if okm && (ok0 && onStack(g0, rsp) || oks && onStack(gs, rsp)) {
			return viewOther, ""
		}
		return viewBad, ""
	}
	switch {
	case !okm || !ok0 || !oks || !okc:
		return viewBad, ""
	case g == g0 || g == gs:
		return viewOther, ""
	case g != curg:
		return viewBad, ""
	}
	status, ok1 := peekUser32(uintptr(g + o.w[gStatus]))
	pre, ok2 := peekUser8(uintptr(g + o.w[gPreempt]))
	locks, ok3 := peekUser32(uintptr(m + o.w[mLocks]))
	malloc, ok4 := peekUser32(uintptr(m + o.w[mMallocing]))
	offPtr, ok5 := peekUser64(uintptr(m + o.w[mPreemptoff]))
	offLen, ok6 := peekUser64(uintptr(m + o.w[mPreemptoff] + 8))
	incgo, ok7 := peekUser8(uintptr(m + o.w[mIncgo]))
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 {
		return viewBad, ""
	}
	// One return for the failures below: a return each costs its own
	// epilogue (issue 16's budget).
	switch {
	case status&^(gScan|15) != 0:
		why = "g.atomicstatus does not hold a goroutine status"
	case pre > 1:
		why = "g.preempt does not hold a bool"
	case locks >= 1<<16:
		why = "m.locks is out of range"
	case malloc > 1:
		why = "m.mallocing is neither 0 nor 1"
	case offLen >= 1<<16: // (pointer and length are two stores: either may lead)
		why = "m.preemptoff's length is out of range"
	case incgo > 1:
		why = "m.incgo does not hold a bool"
	}
	if why != "" {
		return viewFailed, why
	}
	v.confirms = confirmCurg
	switch status &^ gScan {
	case gRunning:
	case gSyscall:
		return viewOther, "" // entering or leaving a system call
	default:
		return viewBad, "" // a goroutine runs user code only in those two
	}
	v.confirms |= confirmRunning
	p, ok1 := peekUser64(uintptr(m + o.w[mP]))
	pst, ok2 := peekUser32(uintptr(p + o.w[pStatus]))
	tick, ok3 := peekUser32(uintptr(p + o.w[pSchedtick]))
	pm, ok4 := peekUser64(uintptr(p + o.w[pM]))
	ppre, ok5 := peekUser8(uintptr(p + o.w[pPreempt]))
	sg, ok6 := peekUser64(uintptr(g + gGuard0))
	switch {
	case !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || p == 0 || pm != m:
		return viewBad, "" // a running goroutine's M owns a P that leads back to it
	case pst > pDead:
		return viewFailed, "p.status does not hold a P status"
	case ppre > 1:
		return viewFailed, "p.preempt does not hold a bool"
	}
	// Field by field: a composite literal is built on the stack and then
	// copied (issue 16's budget). v.quiet is set below; v.confirms kept.
	v.g, v.m, v.p, v.sg, v.tick = g, m, p, sg, tick
	v.preempt, v.pPreempt, v.owned = pre, ppre, pst == pRunning
	if v.owned {
		v.confirms |= confirmOwned
	}
	if pre == 0 && sg != stackPreempt {
		v.confirms |= confirmClear
	}
	v.quiet = v.owned && status == gRunning && locks == 0 && malloc == 0 && offPtr == 0 && offLen == 0 && incgo == 0 &&
		(sg < stackPoisonMin || sg == stackPreempt)
	return viewUser, ""
}

// onStack reports whether g's stack holds sp and its stackguard0 is a
// guard inside the stack or a request. Context: trap (readG); does not
// allocate.
func onStack(g, sp uint64) bool {
	lo, ok1 := peekUser64(uintptr(g + gStackLo))
	hi, ok2 := peekUser64(uintptr(g + gStackHi))
	sg, ok3 := peekUser64(uintptr(g + gGuard0))
	return ok1 && ok2 && ok3 && lo <= sp && sp < hi && (sg >= stackPoisonMin || lo <= sg && sg < hi)
}

// layoutEvidence is what the readings have shown since boot. Guarded by
// the slices lock (klock.Slices): the CPUs' timer interrupts add to it
// with the kernel lock or with their run-queue lock alone.
type layoutEvidence struct {
	good, bad int  // readings consistent with the layout, and not
	curg      int  // readings of a goroutine that is its M's curg
	running   int  // ... whose g.atomicstatus read _Grunning
	owned     int  // ... whose M's P read _Prunning and p.m led back
	ticked    int  // times a P's schedtick was seen to advance
	clear     int  // times g.preempt read 0 with no request pending
	matched   int  // the runtime's own preemption requests that found g.preempt set
	missed    int  // ... that found it clear (a race with the goroutine's own handling, or a wrong offset)
	trusted   bool // every field confirmed: the kernel may write
}

var layout layoutEvidence

// Evidence thresholds.
const (
	layoutConfirmations = 3   // of each kind before the kernel writes
	layoutBadMin        = 32  // contradictions that end slicing once they outnumber the confirmations
	layoutPatience      = 64  // readings of a curg after which a never-confirmed field is a failure
	tickPatience        = 256 // the same for p.schedtick, which sysmon advances every 10-20 ms
)

// tooManyBad is verdict's reason when contradictions outnumber the rest.
const tooManyBad = "more readings contradict it than confirm it"

// confirm counts what a reading confirmed (gview.confirms).
// Context: trap, slices lock held; does not allocate.
func (e *layoutEvidence) confirm(what uint8) {
	if what&confirmCurg != 0 {
		e.curg++
	}
	if what&confirmRunning != 0 {
		e.running++
	}
	if what&confirmOwned != 0 {
		e.owned++
	}
	if what&confirmClear != 0 {
		e.clear++
	}
}

// verdict returns why the evidence refuses the layout ("" if it does not)
// and whether it is confirmed. Context: trap (record), slices lock held;
// does not allocate.
func (e *layoutEvidence) verdict() (why string, confirmed bool) {
	switch {
	case e.bad >= layoutBadMin && e.bad > e.good:
		return tooManyBad, false
	case e.curg >= layoutPatience && e.running == 0:
		return "g.atomicstatus never read _Grunning", false
	case e.running >= layoutPatience && e.owned == 0:
		return "m.p never led to a running P", false
	case e.owned >= tickPatience && e.ticked == 0:
		return "p.schedtick never advanced", false
	case e.running >= tickPatience && e.clear == 0:
		return "g.preempt never read 0", false
	case e.missed >= layoutConfirmations && e.missed > e.matched:
		return "g.preempt read 0 during the runtime's own preemption requests", false
	}
	n := layoutConfirmations
	return "", e.good > e.bad && e.running >= n && e.owned >= n && e.ticked >= n && e.clear >= n && e.matched >= n
}

// record adds a reading of kind to the evidence, refusing the layout or
// starting to trust it, and reports whether slicing is still on.
// Context: trap, slices lock held; does not allocate.
func (e *layoutEvidence) record(kind int, why string) bool {
	switch kind {
	case viewFailed:
		refuseLayout(why)
		return false
	case viewBad:
		e.bad++
	default:
		e.good++
	}
	why, confirmed := e.verdict()
	switch {
	case why != "":
		refuseLayout(why)
	case confirmed && !e.trusted:
		e.trusted = true
		news.confirmed.Reset() // not zeroed: each zeroing costs code (issue 16's budget)
		news.confirmed.S("runtime layout confirmed by ").U(uint64(e.good)).S(" readings and ").U(uint64(e.matched)).S(" of the runtime's own preemption requests: time slices in force")
		newsPending.Store(true)
	}
	return sliceOn.Load()
}

// refuseLayout switches slicing off, with one log line to come
// (LogNews). Context: trap, slices lock held; does not allocate.
func refuseLayout(why string) {
	if !sliceOn.Load() {
		return
	}
	sliceOn.Store(false)
	layout.trusted = false
	l := &news.refused
	l.Reset() // not zeroed: each zeroing costs code (issue 16's budget)
	l.S("runtime layout check failed (").S(why)
	if why == tooManyBad {
		l.S(": ").U(uint64(layout.bad)).S(" of ").U(uint64(layout.good + layout.bad))
	}
	l.S("): preemption is left to the runtime's sysmon")
	newsPending.Store(true)
}

// layoutNews is a change of the layout's verdict that the kernel log has
// not told yet: its lines, built (a klog.Line holds no pointer: no write
// barrier) but not written. record and refuseLayout make them under the
// slices lock, often without the kernel lock (a check under a run-queue
// lock), and the log may be written only under the kernel lock (its
// console queue is that lock's): LogNews writes them on the kernel
// lock's path, where Check sends the rest of such an entry. An empty
// line is none.
type layoutNews struct {
	confirmed klog.Line // the layout is trusted from now on
	refused   klog.Line // slicing is off from now on
}

var (
	news        layoutNews  // guarded by the slices lock
	newsPending atomic.Bool // news holds something to tell: read without a lock
)

// NewsPending reports whether a change of the layout's verdict waits
// for LogNews. Context: trap, no lock needed; does not allocate.
func NewsPending() bool { return newsPending.Load() }

// LogNews writes the log lines of a change of the layout's verdict, if
// one is waiting (layoutNews). Context: trap, kernel lock held (package
// kernel's load, on every way back to ring 3 from the kernel lock's
// path); does not allocate.
func LogNews(c *percpu.CPU) {
	if !newsPending.Load() {
		return
	}
	klock.Slices.Lock(c)
	n := news
	news.confirmed.Reset() // emptied, not zeroed (issue 16's budget)
	news.refused.Reset()
	newsPending.Store(false)
	klock.Slices.Unlock(c)
	if len(n.confirmed.Bytes()) != 0 {
		n.confirmed.Info()
	}
	if len(n.refused.Bytes()) != 0 {
		n.refused.Print()
	}
}

// sliceSent marks the threads the kernel sent a SIGURG that has not been
// delivered yet (requestPreempt sets it, NoteSIGURG clears it). Each
// entry is written only on the CPU its thread runs on, while the thread
// is stopped there: the send by that CPU's timer interrupt, the clear by
// the delivery on its way back to ring 3.
var sliceSent [sched.MaxThreads]bool

// NoteSIGURG checks the runtime's own preemption requests, the only time
// the kernel can see g.preempt set. load calls it for a SIGURG
// thread.DeliverSignal has just delivered to thread t, which has not run since:
// sp is the stack pointer of the context the signal interrupted (now in
// the signal frame). If the kernel did not send that SIGURG, the
// goroutine it interrupted must have g.preempt set when its stackguard0
// and its P's preempt flag say a request is pending (the runtime's
// preemptone sets all three). Context: trap (load, or a delivery under
// the run-queue lock: package kernel's deliverHere), on the CPU that runs
// t; does not allocate.
func NoteSIGURG(c *percpu.CPU, t sched.TID, sp uint64) {
	if sliceSent[t] {
		sliceSent[t] = false // the kernel's own request
		return
	}
	if !sliceOn.Load() {
		return
	}
	var v gview
	kind, why := readG(&threadtab.Threads[t], sp, &v)
	klock.Slices.Lock(c)
	layout.confirm(v.confirms)
	if kind == viewUser && v.sg == stackPreempt && v.pPreempt == 1 {
		// stackguard0 also reads stackPreempt with no request on the
		// goroutine while it enters or leaves a system call
		// (entersyscall sets it; exitsyscall marks the goroutine
		// running before it restores the guard), and p.preempt can be
		// left from a request for the P's previous goroutine: one miss
		// is such a race, misses that outnumber the matches are a
		// wrong offset (verdict).
		if v.preempt != 1 {
			layout.missed++
		} else {
			layout.matched++
		}
	}
	layout.record(kind, why)
	klock.Slices.Unlock(c)
}
