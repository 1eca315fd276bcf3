package trapcheck

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Packages of the file layer, the files lock's domain (klock.Files): the
// descriptors, files, pipes, epoll and the Internet sockets.
var fileLayer = []string{
	kernelPkgDir + "fdtab.*", kernelPkgDir + "vfs.*", kernelPkgDir + "fs.*",
	kernelPkgDir + "fsys.*", kernelPkgDir + "fdcalls.*", kernelPkgDir + "socket.*",
}

const kernelPkgDir = "github.com/gometal/gometal/kernel/"

// kernelOnlyHandlers returns the handlers (symbol names) of the system
// calls that the image's kernel.kernelOnlyCalls lists (two bytes a call,
// little-endian) as taking the kernel lock alone.
func kernelOnlyHandlers(t *testing.T, img string) []string {
	t.Helper()
	list, err := Variable(img, kernelPkg+"kernelOnlyCalls")
	require.NoError(t, err)
	require.Zero(t, len(list)%2, "kernelOnlyCalls holds 16-bit numbers")
	handlers, err := TableEntries(img, kernelPkg+"syscallTable", 8) // a func value per call
	require.NoError(t, err)
	var out []string
	for i := 0; i < len(list); i += 2 {
		nr := int(binary.LittleEndian.Uint16(list[i:]))
		require.Less(t, nr, len(handlers), "kernel-only call %d has no table entry", nr)
		require.NotEmpty(t, handlers[nr], "kernel-only call %d has no handler", nr)
		out = append(out, handlers[nr])
	}
	return out
}

func violations(r *DomainReport) []string {
	var msgs []string
	for _, v := range r.Violations {
		msgs = append(msgs, v.String())
	}
	return msgs
}

// TestGometalFileLockDomain checks, in examples/hello built into an
// image, the two halves of the files lock's promise (kernel/filetrap.go):
//
//   - what runs under the kernel lock without the files lock (the
//     handlers of the calls kernelOnlyCalls lists, and the trap
//     entries' own code for timers, kicks, faults and the idle loop)
//     reaches the file layer only through a gate that takes the files
//     lock first;
//   - what runs under the files lock alone (fileTrap) reaches no thread,
//     scheduler, console or kernel-log code or variable, and nothing of
//     package kernel but its own helpers (the sockets' data calls and
//     the network stack's moves run there, recording their wake-ups).
//
// A handler wrongly marked kernel-only, or a path of the file trap into
// the scheduler, fails here with the chain that reaches it.
func TestGometalFileLockDomain(t *testing.T) {
	_, img, _ := checkHello(t)

	kernelOnly := kernelOnlyHandlers(t, img)
	t.Logf("kernel-only handlers: %v", kernelOnly)
	assert.Contains(t, kernelOnly, kernelPkg+"doFutex")
	assert.Contains(t, kernelOnly, kernelPkg+"doSchedYield")
	assert.Contains(t, kernelOnly, kernelPkgDir+"thread.SysClone", "clone takes the kernel lock alone")
	assert.Contains(t, kernelOnly, kernelPkg+"doExit", "exit takes the kernel lock alone (the last thread's, the files lock in shutdown)")
	assert.GreaterOrEqual(t, len(kernelOnly), 10)

	withoutFiles := Domain{
		Name:  "files",
		Roots: append([]string{kernelPkg + "userTrap", kernelPkg + "kernelTrap", kernelPkg + "apMain"}, kernelOnly...),
		Gates: []string{
			kernelPkg + "doSyscall",    // lockFiles for every call not kernel-only; those handlers are roots here
			kernelPkg + "fileTrap",     // the files lock alone: the second domain below
			kernelPkg + "deviceTrap",   // the console's and /dev/irq's interrupts under the files lock alone: the second domain too
			kernelPkg + "memCall",      // the memory lock alone: TestGometalMemoryLockDomain
			kernelPkg + "faultReclaim", // lockFiles for a page fault on the locked path
			kernelPkg + "socketEventsLocked", kernelPkg + "stackTimedOut", kernelPkg + "deviceInterrupt", kernelPkg + "shutdown",
			// An epoll_wait that blocks under its CPU's run-queue lock
			// takes the files lock shared, in one try, for its second
			// look (kernel/fastepoll.go): its file-layer calls are roots
			// of the second domain.
			kernelPkg + "blockOnEpoll",
			// So does the wake of an epoll_wait's waiter queued on its
			// busy CPU under the run-queue locks (wakeOntoBusy): its
			// file-layer calls are roots of the second domain too.
			kernelPkg + "wakeOntoBusy",
		},
		// The file layer, and what unmaps or write-protects the program's
		// memory: the files lock's path uses that memory directly, so
		// only calls that hold the files lock may change its mappings.
		Forbidden: append([]string{kernelPkgDir + "memcalls.*", kernelPkgDir + "tlb.Shootdown"}, fileLayer...),
		// The flags that say records are pending (fdtab.Notify,
		// vfs.PipeChanged, the sockets' tellProgram and the stack's
		// progress): atomics, written under the files lock, read by
		// socketEvents under the kernel lock, which then takes the files
		// lock to act on the records themselves.
		Allowed: []string{
			kernelPkgDir + "fdtab.NotifyPending", kernelPkgDir + "vfs.PipeWakePending",
			kernelPkgDir + "socket.ProgramWakePending", kernelPkgDir + "socket.StackProgress",
			// The interest lists' word lock, a leaf: an epoll_wait's
			// waiter slot is cleared under it before a wake that ends
			// the wait another way (thread.LeaveEpollSlot: a signal's,
			// a timeout's) looks whether a file call beside handed the
			// waiter off (fdcalls' handOffWaiter).
			kernelPkgDir + "fdtab.EpollHeld",
		},
	}
	r, err := CheckDomain(img, Gometal(), withoutFiles)
	require.NoError(t, err)
	t.Logf("without the files lock: %d functions, gates reached %v", r.Reached, r.GatesSeen)
	assert.Empty(t, violations(r), "kernel-lock-only code reaching the file layer")
	assert.Greater(t, r.Reached, 100, "the walk got into the kernel")
	for _, g := range []string{"doSyscall", "fileTrap", "deviceTrap", "memCall", "socketEventsLocked", "deviceInterrupt", "shutdown", "blockOnEpoll", "wakeOntoBusy"} {
		assert.Contains(t, r.GatesSeen, kernelPkg+g, "the walk reached the gate %s", g)
	}

	// A gate is trusted to take the files lock; each must at least call
	// a lock's Lock, RLock or TryRLock itself or lockFiles (which the
	// compiler may inline), and lockFiles, where it is a function, Lock.
	lock, rlock, tryRLock := kernelPkgDir+"klock.(*Handle).Lock", kernelPkgDir+"klock.(*Handle).RLock", kernelPkgDir+"klock.(*Handle).TryRLock"
	if callees, err := Callees(img, kernelPkg+"lockFiles"); err == nil {
		assert.Contains(t, callees, lock, "lockFiles takes a lock")
	}
	for _, g := range []string{"doSyscall", "fileTrap", "deviceTrap", "memCall", "socketEventsLocked", "stackTimedOut", "deviceInterrupt", "shutdown", "blockOnEpoll", "wakeOntoBusy"} {
		callees, err := Callees(img, kernelPkg+g)
		require.NoError(t, err)
		assert.True(t, slices.Contains(callees, lock) || slices.Contains(callees, rlock) || slices.Contains(callees, tryRLock) || slices.Contains(callees, kernelPkg+"lockFiles"),
			"the gate %s takes a lock: it calls %v", g, callees)
	}

	filesOnly := Domain{
		Name: "kernel",
		// And an epoll_wait's second look under its CPU's run-queue lock
		// and the files lock (kernel/fastepoll.go's blockOnEpoll): the
		// file-layer calls it makes there. blockOnEpoll itself is not a
		// root: under its run-queue lock it also blocks its thread (the
		// scheduler's and the thread table's code, which this domain
		// forbids to the files lock alone).
		Roots: []string{kernelPkg + "fileTrap", kernelPkg + "deviceTrap", kernelPkgDir + "fdcalls.EpollWaitBlock", kernelPkgDir + "fdcalls.EpollUnwait",
			kernelPkgDir + "fdcalls.EpollBlocked", kernelPkgDir + "fdcalls.EpollWaiter", kernelPkgDir + "fdcalls.EpollTake"},
		Gates: []string{
			kernelPkg + "stopAfterFileCall",   // takes the kernel lock to stop the program
			kernelPkgDir + "kpanic.Panic",     // the machine stops
			kernelPkgDir + "tlb.NotAnswering", // a wake IPI's target that does not answer: a kernel panic's report
			// A lock misused (taken against the order, released by
			// another CPU): the report, then a kernel panic.
			kernelPkgDir + "klock.checkLockOrder", kernelPkgDir + "klock.(*Handle).CheckHolder",
		},
		Forbidden: []string{
			kernelPkg + "*", kernelPkgDir + "klog.*", kernelPkgDir + "thread.*", kernelPkgDir + "threadtab.*",
			"github.com/gometal/gometal/sched.*", kernelPkgDir + "console.*",
			kernelPkgDir + "devices.*", kernelPkgDir + "kfiles.*", kernelPkgDir + "memcalls.*",
		},
		// Package kernel's own code under the files lock: fileTrap's
		// helpers and tables, and the path calls' handlers (fsys.SysLinkat and
		// the like, kernel/filetrap.go's fileCalls), whose callees
		// the walk goes on checking. Package kernel's other variables
		// stay forbidden.
		Allowed: []string{
			kernelPkg + "file*", kernelPkg + "statFile", kernelPkg + "do*",
			kernelPkg + "callLocks", kernelPkg + "kernelOnlyCalls",
			// The legacy path calls' table, read only, and the rewrite
			// of their arguments into their at forms' (legacycalls.go).
			kernelPkg + "legacyCalls", kernelPkg + "legacyIndex", kernelPkg + "atForm", kernelPkg + "atCallNr",
			kernelPkg + "kickSelfIfTaken",
			// Whether a stream write's EPIPE raises SIGPIPE: a look at
			// the call's number and flags, which the kernel lock's path
			// then sends (fileServedSIGPIPE).
			kernelPkg + "raisesSIGPIPE",
			// epoll_wait under the files lock alone reads a console's
			// readiness (console.Readable, its virtio queue's room)
			// without the kernel lock: words its interrupt writes, read
			// once each (fdcalls.EpollWaitNow says why that is enough).
			kernelPkgDir + "console.Readable", kernelPkgDir + "console.VconQueueOf",
			kernelPkgDir + "console.vconOn", kernelPkgDir + "console.VconQ",
			// The standard streams' transmit queues are the files
			// lock's (kernel/console/vconio.go): a write to them and the
			// interrupt that returns their slots, recording the console
			// descriptors' readiness and looking whether input waits (the
			// console ring is the files lock's too); the doorbell needs
			// no lock.
			kernelPkgDir + "console.VconWriteNow", kernelPkgDir + "console.unsafeSlice",
			// Each standard stream queue's word lock: the writes and
			// the interrupt's reaping beside each other, the files lock
			// held shared.
			kernelPkgDir + "console.txHeld", kernelPkgDir + "console.txLock", kernelPkgDir + "console.TxRoom",
			kernelPkgDir + "console.TxInterrupt", kernelPkgDir + "console.writerWaits",
			kernelPkgDir + "console.reapStd", kernelPkgDir + "console.stdinWaiting",
			kernelPkgDir + "console.vconUp", kernelPkgDir + "console.vdev",
			kernelPkgDir + "console.notifyConsoleFDs", kernelPkgDir + "console.rd32", kernelPkgDir + "console.wr32",
			kernelPkg + "deviceTrap", kernelPkg + "consoleIRQs", kernelPkg + "irqFDIRQs",
			// An MSI's /dev/irq descriptor: its interrupt counts and
			// records it (for epoll), and its count is read as an
			// eventfd's, by compare-and-swap, beside other CPUs' calls;
			// its vector's descriptor and route change only under the
			// files lock held exclusively (open, close, the route ioctl).
			kernelPkgDir + "devices.IRQVector", kernelPkgDir + "devices.IRQShared", kernelPkgDir + "devices.IRQInterruptShared",
			kernelPkgDir + "devices.irqFDs", kernelPkgDir + "devices.irqDevOf",
			// The hand-off of an epoll_wait's wake (fdcalls'
			// handOffWaiter): the waiter's epoll fields (Ev*, WaitSlot),
			// which the interest lists' lock guards while it is named;
			// the claim of a halted CPU, the hand-off mark and the inbox
			// push, lock-free words as a lock-free FUTEX_WAKE's; its wake
			// IPI, sent once the files lock is released.
			kernelPkgDir + "threadtab.Threads", kernelPkgDir + "threadtab.Sched",
			kernelPkgDir + "thread.ClaimHaltedFor", kernelPkgDir + "thread.claimHaltedCPU", kernelPkgDir + "thread.Unclaim",
			kernelPkgDir + "thread.HandOffWoken", "github.com/gometal/gometal/sched.(*Futexes).MarkHandedOff",
			"github.com/gometal/gometal/sched.(*Handoffs).Push",
			kernelPkgDir + "thread.SendKicks", kernelPkgDir + "thread.sendKick",
		},
	}
	r, err = CheckDomain(img, Gometal(), filesOnly)
	require.NoError(t, err)
	t.Logf("under the files lock alone: %d functions, gates reached %v", r.Reached, r.GatesSeen)
	assert.Empty(t, violations(r), "the files lock's path reaching kernel-lock state")
	assert.Contains(t, r.GatesSeen, kernelPkg+"stopAfterFileCall")
	assert.Contains(t, r.Functions, kernelPkgDir+"fdcalls.FileCall", "the walk got into the file layer")
	assert.Contains(t, r.Functions, kernelPkgDir+"fdcalls.StreamCall", "and into the eventfd and pipe calls")
	assert.Contains(t, r.Functions, kernelPkgDir+"vfs.PipeWriteNow", "down to the pipes")
	assert.Contains(t, r.Functions, kernelPkgDir+"fdcalls.RecordsNeedKernel", "and the records' check")
	assert.Contains(t, r.Functions, kernelPkgDir+"fdcalls.EpollWaitNow", "and into epoll_wait's answers that do not wait")
	assert.Contains(t, r.Functions, kernelPkgDir+"fdcalls.epollCtl", "and into epoll_ctl, which records what it changes (its wake-up, epollNotify, is the kernel lock's)")
	for _, fn := range []string{"socket.SocketIO", "socket.NetCtlRead", "socket.NetCtlSharedIoctl", "socket.tellProgram", "socket.AcceptNow", "socket.CloseFD", "socket.SysShutdown", "socket.NewSocket", "socket.allocSocket", "socket.netAccepted", "socket.ConnectNow", "socket.portInUse", "socket.SendtoNow", "socket.RecvfromNow", "socket.SendmsgNow", "socket.RecvmsgNow", "socket.sockCallNow", "socket.dgramSendNow", "socket.dgramConnectTo", "socket.udpDeliver"} {
		assert.Contains(t, r.Functions, kernelPkgDir+fn, "the walk got into the sockets")
	}
	assert.Contains(t, r.Functions, kernelPkgDir+"vm.DemandFault", "and into the program's memory")
	assert.Contains(t, r.Functions, kernelPkgDir+"console.VconWriteNow", "the walk got into the console's writes")
	assert.Contains(t, r.Functions, kernelPkgDir+"console.TxInterrupt", "and into its interrupt under the files lock")
	assert.Contains(t, r.Functions, kernelPkgDir+"devices.IRQInterruptShared", "and into /dev/irq's interrupts under the files lock")
	for _, fn := range []string{kernelPkgDir + "fsys.OpenFile", kernelPkgDir + "fsys.makeNode", kernelPkgDir + "fsys.SysLinkat", kernelPkg + "fileNewfstatat"} {
		assert.Contains(t, r.Functions, fn, "the walk followed the path calls' table")
	}
}

// memLockForbidden is what the memory calls under the memory lock alone
// may not reach: threads, the scheduler, the file layer, devices, the
// kernel package's paths.
var memLockForbidden = append([]string{
	kernelPkg + "*", kernelPkgDir + "klog.*", kernelPkgDir + "thread.*", kernelPkgDir + "threadtab.*",
	"github.com/gometal/gometal/sched.*", kernelPkgDir + "console.*",
	kernelPkgDir + "devices.*", kernelPkgDir + "kfiles.*",
	// What maps, write-protects or unmaps areas with their pages: the
	// kernel lock's path's.
	kernelPkgDir + "mm.(*PageTable).Map*", kernelPkgDir + "mm.(*PageTable).Protect",
	kernelPkgDir + "memcalls.unmapRange", kernelPkgDir + "memcalls.freePages", kernelPkgDir + "memcalls.mapFile",
}, fileLayer...)

// TestGometalMemoryLockDomain checks, in examples/hello built into an
// image, the promise of the memory calls under the memory lock alone
// (kernel.memCall, memcalls.MemLockCall): they change the areas and the
// commit charge, never a page-table entry or a frame (no invalidation,
// no TLB shootdown, no frame allocated or freed, nothing of a device or
// a file), so the calls under the files lock alone and those under the
// kernel lock, which use the program's touched pages directly, need not
// exclude them; and they reach no thread, scheduler or file-layer code.
// The one exception is a gate: memcalls.AdviseFree, a madvise that gives
// pages back, which unmaps pages, shoots the TLBs down and frees frames
// only after the calls under the other locks have ended
// (klock.Sections), and is checked apart: it reaches nothing else of
// the kernel lock's path.
func TestGometalMemoryLockDomain(t *testing.T) {
	_, img, _ := checkHello(t)
	gates := []string{
		kernelPkgDir + "kpanic.Panic",
		kernelPkgDir + "klock.checkLockOrder", kernelPkgDir + "klock.(*Handle).CheckHolder",
	}
	memOnly := Domain{
		Name:  "kernel and files",
		Roots: []string{kernelPkg + "memCall"},
		Gates: append([]string{kernelPkgDir + "memcalls.AdviseFree"}, gates...),
		Forbidden: append([]string{
			// What drops a page: the kernel lock's path's and AdviseFree's.
			kernelPkgDir + "tlb.Shootdown", kernelPkgDir + "tlb.Post", kernelPkgDir + "cpu.Invlpg", kernelPkgDir + "vm.Frames",
			kernelPkgDir + "mm.(*PageTable).Unmap",
		}, memLockForbidden...),
		Allowed: []string{kernelPkg + "memCall", kernelPkg + "kickSelfIfTaken"},
	}
	r, err := CheckDomain(img, Gometal(), memOnly)
	require.NoError(t, err)
	t.Logf("under the memory lock alone: %d functions, gates reached %v", r.Reached, r.GatesSeen)
	assert.Empty(t, violations(r), "the memory lock's path reaching what only the kernel lock's path may do")
	for _, fn := range []string{"memcalls.MemLockCall", "memcalls.mapAnon", "memcalls.untouched", "memcalls.dropAreas", "memcalls.protectAreas", "mm.(*VMASet).Insert"} {
		assert.Contains(t, r.Functions, kernelPkgDir+fn, "the walk got into the memory calls")
	}
	assert.Contains(t, r.GatesSeen, kernelPkgDir+"memcalls.AdviseFree")

	advise := Domain{
		Name:      "kernel and files",
		Roots:     []string{kernelPkgDir + "memcalls.AdviseFree"},
		Gates:     append([]string{kernelPkgDir + "tlb.NotAnswering"}, gates...), // a kernel panic's report
		Forbidden: memLockForbidden,
	}
	r, err = CheckDomain(img, Gometal(), advise)
	require.NoError(t, err)
	t.Logf("madvise beside the other locks: %d functions, gates reached %v", r.Reached, r.GatesSeen)
	assert.Empty(t, violations(r), "madvise beside the other locks reaching what only the kernel lock's path may do")
	for _, fn := range []string{"memcalls.(*frameBatch).unmap", "mm.(*Frames).Free", "tlb.Post", "tlb.AwaitAcks", "klock.(*Sections).Await"} {
		assert.Contains(t, r.Functions, kernelPkgDir+fn, "the walk got into the madvise's batches")
	}
	// memCall is a gate of TestGometalFileLockDomain's walk: it takes a
	// lock.
	callees, err := Callees(img, kernelPkg+"memCall")
	require.NoError(t, err)
	assert.Contains(t, callees, kernelPkgDir+"klock.(*Handle).Lock")
}

// TestCheckDomain runs the walk on testdata/trapmod/domain: a root that
// reaches the domain only through its gate passes; a call into the
// domain two calls down and a direct use of its variable fail, each with
// the chain from the root.
func TestCheckDomain(t *testing.T) {
	bin := testBinary(t, "domain")
	d := Domain{Name: "test", Forbidden: []string{"main.touchFiles", "main.files"}, Gates: []string{"main.gate"}, Follow: "main."}

	d.Roots = []string{"main.cleanEntry"}
	r, err := CheckDomain(bin, Config{}, d)
	require.NoError(t, err)
	assert.Empty(t, violations(r))
	assert.Equal(t, []string{"main.gate"}, r.GatesSeen)

	d.Roots = []string{"main.badCall"}
	r, err = CheckDomain(bin, Config{}, d)
	require.NoError(t, err)
	require.Len(t, r.Violations, 1, "%v", violations(r))
	v := r.Violations[0]
	assert.Equal(t, "call into the test lock's domain", v.Kind)
	var chain []string
	for _, l := range v.Chain {
		chain = append(chain, l.Func)
	}
	assert.Equal(t, []string{"main.badCall", "main.helper", "main.touchFiles"}, chain)

	d.Roots = []string{"main.badData"}
	r, err = CheckDomain(bin, Config{}, d)
	require.NoError(t, err)
	require.Len(t, r.Violations, 1, "%v", violations(r))
	assert.Equal(t, "variable main.files of the test lock's domain", r.Violations[0].Kind)

	d.Roots = []string{"main.noSuchFunction"}
	_, err = CheckDomain(bin, Config{}, d)
	assert.ErrorContains(t, err, "not in the image", "a root the linker dropped or inlined must not pass silently")
}
