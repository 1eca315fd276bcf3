package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The kernel's socket table. The program's socket calls are answered here,
// in trap context, from this table: data goes into and out of the rings,
// ports are assigned here, and every change the network stack must act on
// marks the socket dirty, which makes /dev/netctl readable for the stack
// goroutine (netctl.go). A socket outlives its descriptor until the stack
// releases it, so data written before close is still sent.
const (
	maxSockets     = 512
	acceptQueueCap = 64
	ephemeralLow   = 32768
	ephemeralHigh  = 60999
)

// socket is one slot of the table: its generation and its lock, which
// outlive the socket in the slot, and the fields a free clears
// (sockFields).
type socket struct {
	// gen counts the slot's sockets (allocSocket adds one): the stack
	// names a socket by slot and generation (liveSocket).
	gen uint32
	// held is the socket's lock (spin.LockWord): a program's read or
	// write that runs beside other calls (SocketIO, the files lock held
	// shared) holds it while it changes the rings, SoError, Dirty and
	// rxWanted, so that a read and a write of the socket on two CPUs
	// take turns; so do the network stack's data moves and its release
	// of a closed socket (NetCtlSharedIoctl: the rings, rxWanted,
	// peerEOF; the release frees the slot under it) and its read of the
	// socket's event (takeEvents: Dirty, ackWanted), connectDone while it
	// takes SoError
	// (a wake under the kernel lock with the files lock held shared), and
	// a setsockopt or getsockopt beside them while it changes opts, keep,
	// linger and Dirty or reads them and takes SoError (setOptionHeld,
	// optionValueHeld); so does an accept beside them while it takes from
	// a listener's queue (acceptQ, aHead, ALen: AcceptNow, which then
	// sets the accepted socket's FD under that socket's lock), and
	// epoll's look at the queue (SockReadiness); so do a close of the
	// socket's one descriptor beside them (CloseFD: FD, State, Rx, and a
	// free with no stack), a shutdown (SysShutdown: Flags),
	// connectDone while it clears the waiter, a socket(2) while it takes
	// the slot and makes the socket (allocSocket, NewSocket), the stack's
	// new connection while it takes a slot and fills it (queued under
	// the listener's lock: netAccepted), a connect's outcome where no
	// thread waits (netShared: State, Local, Remote, SoError), a
	// non-blocking connect while it stores its port (autobind) and
	// changes State and Remote (connectTo), a datagram socket's connect
	// while it changes State, Remote and Local (dgramConnectTo), a
	// datagram socket's read, write, sendto, recvfrom, sendmsg or
	// recvmsg beside them while
	// it reads its state and peer and changes its rings and SoError
	// (SocketIO, dgramSendNow, sockCallNow), a connect's or a send's choice of a port
	// while it reads each socket (portInUse), and getsockname and
	// getpeername while they read the names and the state.
	// Every other change of a socket is made under the files lock held
	// exclusively, with no such call beside it, but waiter's clearing by
	// a wake, a timeout or a
	// signal (the kernel lock, with the files lock shared or not at all),
	// stored atomically since tellProgram loads it beside. A free
	// (freeSocket) clears the socket's fields but not this word, which a
	// call beside may be waiting on: it finds the slot free (Typ 0) once
	// it holds the lock.
	held uint32
	// Dirty is 1 while the stack has not read the socket's latest change
	// (TellStack marks it, NetCtlRead takes the mark): a word, changed
	// under the socket's lock (held) or the files lock held exclusively,
	// and stored atomically, since NetCtlRead's walk beside other calls
	// loads it without the lock (and so a free stores it, freeSocket).
	Dirty uint32
	// waiter is a thread blocked in a blocking call on the socket; loaded
	// atomically beside others (tellProgram), so outside the fields a
	// free clears.
	waiter sched.TID
	sockFields
}

// sockFields are a socket's other fields, cleared when its slot is
// freed. With the four words in front of them a socket is 760 bytes, as
// before the lock was added: the table adds nothing to the image's
// memory (TestSocketSize).
type sockFields struct {
	Typ       uint8 // abi.SockStream, abi.SockDgram or abi.SockRaw; 0: free
	Family    uint8 // abi.Family4 or abi.Family6
	proto     uint8 // abi.SockRaw: the IP protocol
	State     uint8 // abi.Sock* state
	Flags     uint8 // abi.Ev* flags (shutdown)
	aHead     uint8 // acceptQ's oldest entry (a listener's)
	ALen      uint8 // acceptQ's entries (a listener's)
	freedAt   uint8 // the files lock's quiet count (its low byte) when the slot was freed: allocSocket
	FD        int32 // the program's descriptor, -1 while queued for accept or closed
	ExtraFDs  int32 // further descriptors dup made of it (sharing its state)
	Local     SockAddr
	Remote    SockAddr
	SoError   int32 // pending error (SO_ERROR), positive errno
	accepted  bool  // made by accept: shares the listener's port
	bound     bool  // bind named its address (a second bind is EINVAL)
	rxWanted  bool  // the stack has data waiting for receive space
	ackWanted bool  // the next event asks the stack for NetCtlAck
	// peerEOF is 1 once the peer sent FIN: a word, stored atomically by
	// the stack's move beside other calls (netPushRx) and loaded so by
	// epoll's look without the socket's lock (SockReadiness).
	peerEOF uint32
	backlog uint32
	opts    uint32
	keep    [3]uint32 // idle, interval, count
	linger  int32
	Rx, Tx  sockBuf
	acceptQ [acceptQueueCap]int16
}

// slotsUsed is one past the highest slot allocSocket ever gave a
// socket: the scans for a port's holder (portInUse) and a datagram's
// local receiver (udpDeliver) stop there, as slots above it never
// held a socket. It only grows, by compare-and-swap (allocSocket runs
// beside other calls): a socket made beside a scan, in a slot the scan
// does not reach, came after it.
var slotsUsed atomic.Uint32

var (
	Sockets     [maxSockets]socket
	DirtyCount  int32   // the sockets with Dirty set: changed atomically beside other calls (TellStack, NetCtlRead)
	nextPort    uint32  = ephemeralLow
	ifaceAddr   [4]byte // the interface address, from the stack
	DNSAddr     [4]byte // the DNS server the network named (DHCP), from the stack
	NetStackFD  = -1    // the stack's /dev/netctl descriptor
	NetDropped  uint64  // datagrams dropped for want of receive space
	NetRejected uint64  // connections refused because the accept queue was full
)

// allocSocket takes a free slot for a new socket of type typ and family
// and returns it, or -1 if none is free. Beside other calls (the files
// lock held shared) it takes only a slot that has never held a socket
// or whose free came before the lock's last quiet moment (freedAt): a
// call beside that found the slot's old socket, through a descriptor
// closed beside, has ended by then, so that it never meets the new one
// (it answers EBADF for the old one under the socket's lock); it takes
// the slot under the socket's lock, which the socket's own calls hold.
// Under the files lock held exclusively any free slot will do.
// Context: trap, files lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func allocSocket(typ, family uint8, beside bool) int {
	quiet := uint8(spin.FilesLock.Quiet()) // the same until this call ends, beside others
	for i := range Sockets {
		s := &Sockets[i]
		spin.LockWord(&s.held)
		free := s.Typ == 0 && (!beside || s.gen == 0 || s.freedAt != quiet)
		if free {
			// Zeroed, then field by field: a composite literal is a
			// template in rodata copied through the stack (issue 16's
			// budget).
			s.sockFields = sockFields{}
			if s.gen++; s.gen == 0 {
				s.gen = 1 // 0 is a slot that never held a socket
			}
			s.Typ, s.Family, s.State = typ, family, abi.SockOpen
			s.FD, s.linger = -1, -1
			atomic.StoreInt32((*int32)(&s.waiter), int32(noThread)) // tellProgram and wakeWaiter load it beside
		}
		spin.UnlockWord(&s.held)
		if free {
			for used := slotsUsed.Load(); used <= uint32(i) && !slotsUsed.CompareAndSwap(used, uint32(i)+1); {
				used = slotsUsed.Load() // another socket(2) beside raised it first
			}
			return i
		}
	}
	return -1
}

// freeSocket releases a slot and its buffers, of a socket no thread
// waits on (its waiter stays noThread): under the files lock held
// exclusively, or shared with the socket's lock held (the stack's
// release, NetCtlSharedIoctl; a close with no stack, CloseFD; a socket
// whose descriptor did not fit, NewSocket; a refused connection,
// netAccepted), beside other calls. Those may be waiting for the socket's
// lock, which the free leaves as it is: they find the slot free once
// they hold it (Typ 0); the slot is reused beside other calls only after
// the files lock's next quiet moment (freedAt, allocSocket), when they
// have ended. A mark the stack has not
// read yet goes with it; if others are left, /dev/netctl's change is
// recorded again: a read beside may have met this mark as its last and
// answered EAGAIN (takeEvents), while marks made after it began did not
// record the change (TellStack records only the first).
// Context: trap, files lock held; does not allocate.
func freeSocket(i int) {
	s := &Sockets[i]
	s.Rx.release()
	s.Tx.release()
	if s.Dirty != 0 {
		atomic.StoreUint32(&s.Dirty, 0) // NetCtlRead's walk loads it beside
		if atomic.AddInt32(&DirtyCount, -1) > 0 {
			netCtlChanged()
		}
	}
	s.sockFields = sockFields{}
	s.FD, s.freedAt = -1, uint8(spin.FilesLock.Quiet())
	stackProgressed()
}

// sockChanged records a change of socket i that both sides must see:
// TellStack and tellProgram. Context: trap, files lock held (shared:
// the socket's lock held too, CloseFD, SysShutdown, NewSocket,
// connectTo and dgramConnectTo).
func sockChanged(i int) {
	TellStack(i)
	tellProgram(i)
}

// TellStack marks socket i dirty (Dirty), which makes /dev/netctl
// readable for the stack goroutine. Reads and writes of other sockets may
// mark theirs beside this call (SocketIO), and the stack's read takes
// marks (NetCtlRead): the count changes atomically, so exactly one call
// takes it from 0 to 1 and records /dev/netctl's change.
// Context: trap, files lock held (shared: the socket's lock held too).
func TellStack(i int) {
	s := &Sockets[i]
	if s.Dirty != 0 {
		return
	}
	atomic.StoreUint32(&s.Dirty, 1) // NetCtlRead's walk loads it beside
	if atomic.AddInt32(&DirtyCount, 1) == 1 {
		netCtlChanged()
	}
}

// netCtlChanged records that /dev/netctl has news for the stack, if one
// runs: its descriptor's edge sequence and its record for epoll and the
// stack's wait (fdtab.Notify). Context: trap, files lock held; does not
// allocate.
func netCtlChanged() {
	if NetStackFD >= 0 {
		atomic.AddUint64(&fdtab.Files[NetStackFD].Seq, 1)
		fdtab.Notify(NetStackFD)
	}
}

// closedBeside reports whether socket s, found through a descriptor,
// has been closed since (CloseFD: SockClosed) or freed (Typ 0) by a
// call beside this one: the call answers EBADF, as Linux does for a
// descriptor closed before it. Context: trap, files lock held, s's lock
// held; does not allocate.
func (s *socket) closedBeside() bool { return s.State == abi.SockClosed || s.Typ == 0 }

// tellProgram makes the program see a change of socket i: it records the
// change for its epoll instances (fdtab.Notify; edge-triggered ones report
// again) and, when a thread waits on it, for that thread (WakeRecorded).
// Package kernel acts on both records under both locks (socketEvents),
// at the end of the system call or interrupt, or for a call under the
// files lock alone, on the kernel lock's path that the call then takes
// (fdcalls.RecordsNeedKernel). The stack's data moves call it beside
// other calls (the files lock held shared, the socket's lock held:
// NetCtlSharedIoctl): the sequence goes up atomically, and the waiter,
// which a wake beside may clear, is loaded atomically (one seen just
// as it is cleared costs WakeRecorded a look; none starts waiting
// meanwhile, which takes the files lock exclusively).
// Context: trap, files lock held; does not allocate.
func tellProgram(i int) {
	s := &Sockets[i]
	if s.FD >= 0 {
		atomic.AddUint64(&fdtab.Files[s.FD].Seq, 1)
		fdtab.Notify(int(s.FD))
	}
	if s.ExtraFDs > 0 {
		notifySocketDups(i)
	}
	if atomic.LoadInt32((*int32)(&s.waiter)) != int32(noThread) {
		programWakes.Add(i)
		ProgramWakePending.Store(true)
	}
}

// Sockets whose waiting thread must hear of a change (tellProgram), as
// a set of socket numbers: recorded under the files lock, acted on under both
// locks (WakeRecorded). A socket's waiter is set under both locks
// (thread.BlockIn, by a call that takes both) and cleared by the wake
// that ends the wait, which a timeout or a signal makes under the kernel
// lock alone: a record made from a waiter being cleared just then finds
// no waiter, or another wait of the same thread on the same socket, which
// takes both locks and so starts after the record was made. Either way
// WakeRecorded looks at the waiter again; a restarted call that finds
// nothing to do waits again.
var (
	programWakes       fdtab.Set
	ProgramWakePending atomic.Bool // programWakes may be non-empty; read without the files lock
)

// WakeRecorded acts on the records of tellProgram: each recorded
// socket's waiting thread is woken (wakeWaiter), and the records are
// cleared. Context: trap, kernel and files locks held; does not
// allocate.
func WakeRecorded() {
	if !ProgramWakePending.Load() {
		return
	}
	ProgramWakePending.Store(false)
	for i := programWakes.Take(); i >= 0; i = programWakes.Take() {
		wakeWaiter(i)
	}
}

// wakeWaiter wakes the thread waiting on socket i for its change: a
// connect that has an answer (connectDone), or a blocked read, write or
// accept, which runs again (thread.Restart). A bind or listen waits for
// the stack's answer instead (stackAnswered), not for data.
// Context: trap, kernel and files locks held; does not allocate.
func wakeWaiter(i int) {
	s := &Sockets[i]
	t := sched.TID(atomic.LoadInt32((*int32)(&s.waiter))) // stored atomically beside (allocSocket)
	if t == noThread || threadtab.Threads[t].Wait == threadtab.WaitStack {
		return // a bind or listen waits for the stack's answer, not for data
	}
	if threadtab.Threads[t].ConnectWait {
		if s.State != abi.SockConnecting {
			connectDone(i)
		}
		return
	}
	atomic.StoreInt32((*int32)(&s.waiter), int32(noThread)) // tellProgram loads it beside
	thread.Restart(t)
}

// SockWait blocks t until socket i changes, when its descriptor is
// blocking; otherwise it returns EAGAIN. Context: trap, kernel lock held.
func SockWait(t sched.TID, i int, nr uint64) int64 {
	s := &Sockets[i]
	if s.FD < 0 || fdtab.Files[s.FD].Nonblock || s.waiter != noThread {
		return -abi.EAGAIN
	}
	threadtab.Threads[t].RestartNr = nr
	thread.BlockIn(t, threadtab.WaitRead, &s.waiter)
	return blocked
}

// awaitStack makes t, in bind or listen on socket i, wait until the stack
// has acted on the change (netctl.go: NetCtlAck, or NetCtlSetState with
// the error), at most stackAnswerMax. Context: trap, kernel lock held.
func awaitStack(t sched.TID, i int) int64 {
	s := &Sockets[i]
	TellStack(i)
	if NetStackFD < 0 || s.waiter != noThread {
		return 0
	}
	s.ackWanted = true
	thread.BlockIn(t, threadtab.WaitStack, &s.waiter)
	thread.SetTimer(t, clock.Nanotime()+stackAnswerMax)
	return blocked
}

const stackAnswerMax = 5_000_000_000 // ns

var stackTimeoutLogged bool

// StackTimedOut logs, once, that the stack did not answer a bind or listen.
// Context: trap (expireTimers), kernel lock held; does not allocate.
func StackTimedOut() {
	if !stackTimeoutLogged {
		stackTimeoutLogged = true
		var l klog.Line
		l.S("socket: the network stack did not answer a bind or listen within 5 s: failing it with ETIMEDOUT").Print()
	}
}

// stackAnswered ends a bind or listen waiting on socket i with result.
// Context: trap, kernel lock held.
func stackAnswered(i int, result int64) {
	s := &Sockets[i]
	t := s.waiter
	if t == noThread || threadtab.Threads[t].Wait != threadtab.WaitStack {
		return
	}
	s.waiter = noThread
	thread.Wake(t, result)
}

// SockReadiness returns the epoll events of socket i. A read or write
// of it, or the stack's move of its data, may run beside this look (an
// epoll_wait that does not wait, under the files lock held shared:
// SocketIO, NetCtlSharedIoctl): the ring counts, SoError and peerEOF,
// which those calls change, are loaded atomically, each a word, as
// Linux's tcp_poll reads its counts without the socket's lock. A
// listener's queue, which an accept beside changes (AcceptNow), is
// looked at under the socket's lock; State and Flags, which a close, a
// shutdown, a connect and the stack's connect outcome beside change
// (CloseFD, SysShutdown, connectTo, dgramConnectTo, NetCtlSharedIoctl), are read
// plainly: all run under the epoll interest lists' lock
// (fdtab.EpollHeld), which every look holds.
// Context: trap (a system call, or an interrupt through fdcalls.NotifyEpolls),
// files lock held; does not allocate.
func SockReadiness(i int) uint32 {
	s := &Sockets[i]
	rxN, txN := atomic.LoadUint32(&s.Rx.N), atomic.LoadUint32(&s.Tx.N)
	var r uint32
	switch {
	case s.State == abi.SockListening:
		spin.LockWord(&s.held) // an accept beside takes from the queue under it (AcceptNow)
		if s.ALen > 0 {
			r |= unix.EPOLLIN
		}
		spin.UnlockWord(&s.held)
	case s.Typ != abi.SockStream:
		r |= unix.EPOLLOUT
		if rxN > 0 {
			r |= unix.EPOLLIN
		}
	case s.State == abi.SockConnected:
		eof := atomic.LoadUint32(&s.peerEOF) != 0
		if rxN > 0 || eof {
			r |= unix.EPOLLIN
		}
		if txN < sockBufSize && s.Flags&abi.EvShutWr == 0 {
			r |= unix.EPOLLOUT
		}
		if eof {
			r |= unix.EPOLLRDHUP
			if s.Flags&abi.EvShutWr != 0 {
				r |= unix.EPOLLHUP
			}
		}
	case s.State == abi.SockFailed:
		r |= unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLRDHUP
	case s.State == abi.SockOpen:
		r |= unix.EPOLLOUT | unix.EPOLLHUP
	}
	if atomic.LoadInt32(&s.SoError) != 0 {
		r |= unix.EPOLLERR
	}
	return r
}

// portInUse reports whether another live socket of type typ holds port
// a.port on an address that overlaps a, as socket self (of family and
// v6only) would hold it (scopeOf). It reads each socket under its lock:
// beside other calls (a connect's autobind, which holds portsHeld)
// sockets are made, freed, closed and given the stack's addresses under
// their locks. Context: trap, files lock held (shared: portsHeld held);
// does not allocate.
func portInUse(self int, typ uint8, a SockAddr) bool {
	me := &Sockets[self]
	spin.LockWord(&me.held)
	want := scopeOf(me.Family, me.opts&abi.OptV6Only != 0, a)
	spin.UnlockWord(&me.held)
	for i := range int(slotsUsed.Load()) {
		if i == self {
			continue
		}
		s := &Sockets[i]
		spin.LockWord(&s.held)
		used := s.Typ == typ && !s.accepted && s.Local.Port == a.Port && s.State != abi.SockClosed &&
			want.overlaps(scopeOf(s.Family, s.opts&abi.OptV6Only != 0, s.Local))
		spin.UnlockWord(&s.held)
		if used {
			return true
		}
	}
	return false
}

// ephemeralPort picks a free port in the ephemeral range, 0 if none
// (nextPort: portsHeld held, or the files lock exclusively).
// Context: trap, files lock held; does not allocate.
func ephemeralPort(self int, typ uint8, a SockAddr) uint16 {
	for range ephemeralHigh - ephemeralLow + 1 {
		p := uint16(nextPort)
		nextPort++
		if nextPort > ephemeralHigh {
			nextPort = ephemeralLow
		}
		a.Port = p
		if !portInUse(self, typ, a) {
			return p
		}
	}
	return 0
}

// autobind gives socket i an ephemeral port if it has none, and
// reports whether it has one (a raw socket needs none). It holds
// portsHeld, so that connects and datagram sends beside each other
// (ConnectNow, dgramSendNow) never choose one port, and stores the port
// under the socket's lock, which getsockname beside holds. A socket
// closed or freed beside since its descriptor was looked at gets no
// port, and true: its caller looks again under the socket's lock and
// answers EBADF (connectRefused, dgramConnectTo, dgramRoute).
// Context: trap, files lock held; does not allocate.
func autobind(i int) bool {
	s := &Sockets[i]
	spin.LockWord(&portsHeld)
	spin.LockWord(&s.held)
	local, typ, gone := s.Local, s.Typ, s.closedBeside()
	spin.UnlockWord(&s.held)
	if !gone && local.Port == 0 && typ != abi.SockRaw {
		local.Port = ephemeralPort(i, typ, local)
		spin.LockWord(&s.held)
		if !s.closedBeside() {
			s.Local.Port = local.Port
		} // else closed or freed beside since: its caller answers EBADF
		spin.UnlockWord(&s.held)
	}
	spin.UnlockWord(&portsHeld)
	return gone || local.Port != 0 || typ == abi.SockRaw
}

// portsHeld is the word lock (spin.LockWord) of the choice of ephemeral
// ports (nextPort, and the ports autobind stores): connects and
// datagram sends beside each other (the files lock held shared) take
// turns at it; bind and listen choose ports under the files lock held
// exclusively, with no connect or send beside.
var portsHeld uint32

// closeSocket is close(2) of fd, socket i's one descriptor, on the
// locked path: a thread waiting on the socket wakes with EBADF, a
// listener's queued connections are closed too, and then the socket
// (CloseFD). Context: trap, kernel lock held.
func closeSocket(fd, i int) {
	s := &Sockets[i]
	if s.waiter != noThread {
		t := s.waiter
		s.waiter = noThread
		thread.Wake(t, -abi.EBADF)
	}
	for s.ALen > 0 {
		c := int(s.acceptQ[s.aHead])
		s.aHead = (s.aHead + 1) % acceptQueueCap
		s.ALen--
		Sockets[c].State = abi.SockClosed
		sockChanged(c)
	}
	CloseFD(fd, i)
}

// CloseFD is close(2) of descriptor fd, whose socket the caller read as
// i, and reports whether it closed it. Under the socket's lock it checks
// that fd is still the socket's one descriptor, frees fd by
// compare-and-swap of its flag word (vfs.FreeShared), and closes the socket:
// it stays (abi.SockClosed) until the stack releases it (it still sends
// what is in the transmit ring), or is freed at once if there is no
// stack. It runs on the locked path (closeSocket) or beside other calls
// (the files lock held shared: package fdcalls' closeStreamShared),
// where it leaves to the locked path, having changed nothing, a socket
// a thread waits on (the wake needs the kernel lock), a listener with
// queued connections, a socket with other descriptors (dup), and a
// descriptor closed or changed beside since the caller looked (a close
// beside that came first cleared the socket's FD under its lock). A call
// beside that found the socket through fd before the close finds it
// closed, or freed by the stack's release beside (NetCtlSharedIoctl),
// once it holds the socket's lock: a read, a write and a setsockopt
// answer EBADF then (SocketIO, setOptionHeld). Beside other calls the
// caller holds the epoll interest lists' lock, and drops fd from them
// once this closed it, so epoll's looks, which read sockets' states
// under that lock (SockReadiness), come wholly before or after.
// Context: trap, files lock held; does not allocate.
func CloseFD(fd, i int) bool {
	if uint(i) >= maxSockets {
		return false
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	ok := s.Typ != 0 && s.FD == int32(fd) && s.ExtraFDs == 0 && s.ALen == 0 &&
		atomic.LoadInt32((*int32)(&s.waiter)) == int32(noThread) && vfs.FreeShared(fd, 0, fdtab.KindSocket)
	if ok {
		s.FD = -1
		s.State = abi.SockClosed
		s.Rx.release()
		if NetStackFD < 0 {
			freeSocket(i) // no stack to tell
		} else {
			sockChanged(i)
		}
	}
	spin.UnlockWord(&s.held)
	return ok
}

// sockOfFD returns the socket behind descriptor fd, or an errno.
// Context: trap, files lock held; does not allocate.
func sockOfFD(fd int) (int, int64) {
	f := fdtab.Get(fd)
	if f == nil {
		return -1, -abi.EBADF
	}
	if f.Kind != fdtab.KindSocket {
		return -1, -int64(unix.ENOTSOCK)
	}
	return f.Socket, 0
}

// notifySocketDups tells the epoll instances watching the descriptors
// that dup made of socket i (besides its own, s.fd) that it changed.
// Opens and closes of other kinds beside it (the files lock held shared)
// change other descriptors' words: it reads each kind in one load
// (fdtab.LoadFlags); a socket's descriptor is made beside it only by an
// accept or a socket(2), which name the socket before the word
// (fdtab.AllocDesc), and
// a socket's descriptor is closed beside it only if it is its socket's
// one descriptor (CloseFD): the descriptors of a socket with dups, the
// only ones this looks for, close on the locked path. Context: trap,
// files lock held; does not allocate.
func notifySocketDups(i int) {
	for fd := range fdtab.Files {
		if w, _ := fdtab.LoadFlags(fd); w.Kind() == fdtab.KindSocket && fdtab.Files[fd].Socket == i && int32(fd) != Sockets[i].FD {
			atomic.AddUint64(&fdtab.Files[fd].Seq, 1)
			fdtab.Notify(fd)
		}
	}
}

// ReleaseSocketFD is close(2) of descriptor fd of socket i: the socket
// closes with its last descriptor; before that, another descriptor takes
// over as its own. Context: trap, kernel lock held; does not allocate.
func ReleaseSocketFD(fd, i int) {
	s := &Sockets[i]
	if s.ExtraFDs == 0 {
		closeSocket(fd, i)
		return
	}
	s.ExtraFDs--
	if s.FD != int32(fd) {
		return
	}
	for other := range fdtab.Files {
		if other != fd && fdtab.Files[other].Kind == fdtab.KindSocket && fdtab.Files[other].Socket == i {
			s.FD = int32(other)
			return
		}
	}
}

// StackProgress records that the network stack made progress, for the
// exit drain's check, which package kernel runs (socketEvents: its
// exitDrainCheck is above the sockets), once an exit waits for the
// sockets to drain (ExitDraining, which package kernel sets then and
// never clears: the program is ending). Changed descriptors are recorded
// in the descriptor table (fdtab.Notify). Both are atomics: written under
// the files lock, read without it (socketEvents, under the kernel lock).
var StackProgress, ExitDraining atomic.Bool

// stackProgressed records the stack's progress (StackProgress) if an
// exit waits for it. Context: trap, files lock held; does not allocate.
func stackProgressed() {
	if ExitDraining.Load() {
		StackProgress.Store(true)
	}
}
