// Package socket is the program's sockets: the Internet sockets' table
// (Sockets) and its rings, the socket system calls (SysSocket,
// SysConnect, SysSendmsg, ...), the getsockopt/setsockopt and ioctl
// options, /dev/netctl (the network stack's side: OpenNetCtl,
// NetCtlRead, ...; the stack is the kernel's goroutine in
// kernel/ring3/knet), route netlink sockets (NetlinkSyscall), the
// Unix-domain sockets (UnixSyscall, over kernel/fs's UnixSockets, with
// SCM_RIGHTS), the addresses the sockets use (SockAddr, inetaddr.go)
// and the UDP loopback (udploop.go).
//
// It lies below package kernel, which dispatches by descriptor kind
// (read, write, close, dup, epoll) over kernel/fdtab and kernel/vfs. What
// the sockets would call above them they record instead (fdtab.Notify
// for epoll; StackProgress for the exit drain), and package kernel acts
// on it (socketEvents). docs/kernel-layout.md.
//
// Trap context (docs/trap-context.md): nothing here allocates.
package socket

import (
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/sched"
)

// blocked is returned by a handler whose thread now waits (thread.Blocked).
const blocked = thread.Blocked

// noThread is no thread (sched.None).
const noThread = sched.None
