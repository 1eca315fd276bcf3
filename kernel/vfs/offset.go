package vfs

import "github.com/gometal/gometal/kernel/spin"

// The offset lock of an open file description (issue 18). The calls that
// only read the file layer, and the writes, hold the files lock shared (package kernel's fileTrap), several CPUs at once;
// those among them that move a description's offset (read, write, lseek
// and getdents64 of a file or directory) hold its offset lock as well,
// as Linux's hold the file's f_pos_lock, so that two threads reading or
// writing through one description (one descriptor, or two that dup
// made) each get bytes of their own and leave the offset past both. Under the files lock held exclusively no
// other CPU is in such a call, and the lock is not taken.

// LockOffset takes d's offset lock, spinning while another CPU holds
// it: that CPU is in a call that holds the files lock shared and reads
// or writes one call's bytes, waiting for no lock this CPU holds.
// Context: trap, files lock held shared, interrupts off; does not
// allocate.
func (d *Desc) LockOffset() { spin.LockWord(&d.offsetHeld) }

// UnlockOffset releases d's offset lock (LockOffset).
// Context: trap, files lock held shared; does not allocate.
func (d *Desc) UnlockOffset() { spin.UnlockWord(&d.offsetHeld) }
