// Package fsys is the system calls on files and paths over the root file
// system: open (with FIFOs' rendezvous), stat, statx, access, mkdir,
// mknod, unlink, rename, link, symlink, readlink, chmod, chown,
// utimensat, truncate, chdir, getcwd, statfs and sendfile; the glue they
// share with package kernel's dispatch by descriptor kind: copying and
// resolving paths (copyPath, resolveAt), a new description's descriptor
// (NewDescFD), the access checks (CanRead, CanWrite), a pipe's readiness
// (PipeReadiness), the character devices' numbers (DevNull, ...) and the
// kernel files' marks (KernelFileMark, ProcFDMark).
//
// It lies over kernel/vfs (the file layer's state), kernel/fdtab,
// kernel/klock (whether a call holds the files lock exclusively),
// kernel/thread and kernel/vm, below package kernel, which keeps the
// dispatch by descriptor kind (read, write, close, fstat, ioctl, epoll),
// the devices and the system-call table. What a call here would finish
// above (opening /dev/irq or a kernel file, describing a descriptor for
// AT_EMPTY_PATH) it answers with OpenDevice or StatDescriptor instead,
// and package kernel acts on it (kernel/sys_fsys.go).
// docs/kernel-layout.md.
//
// Trap context (docs/trap-context.md): nothing here allocates.
package fsys

import (
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/sched"
)

// blocked is returned by a handler whose thread now waits (thread.Blocked).
const blocked = thread.Blocked

// noThread is no thread (sched.None).
const noThread = sched.None
