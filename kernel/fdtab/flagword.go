package fdtab

// Descriptor flags without the files lock (issue 18). The Go runtime
// follows every open of a regular file with two fcntl pairs (F_GETFL,
// then F_SETFL to set O_NONBLOCK before it offers the descriptor to its
// poller, and again to clear it when epoll refuses a regular file): four
// of the ten calls of an os.ReadFile. Under the files lock each waited
// for unrelated file calls on other CPUs (docs/performance.md, "Issue 18,
// file round trips"). A descriptor's description index and its one-byte
// fields Kind, Cloexec, Nonblock and Vector lie in one aligned 64-bit
// word (File's field order), so a flag call can read them in one load
// and change Cloexec or Nonblock with one compare-and-swap that fails if
// anything in the word changed meanwhile. Under the files lock held
// shared the flag calls change them by such swaps too (SetFlag). The
// files lock's exclusive holders keep writing the fields plainly: each
// store (a byte, or the struct's copy)
// lands in the word whole, before or after the swap, and a swap that
// comes after a change fails and the caller goes to the locked path. The
// writers that make or free a descriptor publish the word whole: Install
// (AllocDesc, dup) stores it last, after the entry's other fields, and
// Free clears it first, before the caller releases the description, so
// that a flag call never pairs a kind with another descriptor's
// description, flags or a description being torn down. A close under
// the files lock held shared frees a descriptor with one swap of its
// word to the free kind, keeping the description's index (kernel/vfs's
// CloseShared), and AllocDesc reads a slot's word atomically and clears
// the other fields one by one.

// A FlagWord is a snapshot of a descriptor's word: Desc in the low 32
// bits, then Kind, Cloexec, Nonblock and Vector, a byte each (a bool is
// the byte 1 or 0: FlagCloexec and FlagNonblock are their low bits).
type FlagWord uint64

// The flags' bits in a FlagWord.
const (
	FlagCloexec  FlagWord = 1 << 40
	FlagNonblock FlagWord = 1 << 48
)

// Desc returns the snapshot's description index (File.Desc).
// Context: any; does not allocate.
func (w FlagWord) Desc() int32 { return int32(uint32(w)) }

// Kind returns the snapshot's kind (File.Kind).
// Context: any; does not allocate.
func (w FlagWord) Kind() uint8 { return uint8(w >> 32) }

// Set returns the snapshot with flag (FlagCloexec or FlagNonblock) on
// or off. Context: any; does not allocate.
func (w FlagWord) Set(flag FlagWord, on bool) FlagWord {
	if on {
		return w | flag
	}
	return w &^ flag
}

// LoadFlags reads descriptor fd's word in one load, without the files
// lock; false for a number outside the table. The word may be of a free
// slot (Kind KindFree), or the descriptor may be closed and its number
// given to another open between the load and the use: the caller checks
// Kind, bounds Desc, and looks again after it read what Desc points at.
// Context: trap, no lock needed; does not allocate.
func LoadFlags(fd int) (FlagWord, bool) {
	if fd < 0 || fd >= MaxFDs {
		return 0, false
	}
	return FlagWord(flagWord(&Files[fd]).Load()), true
}

// SwapFlags stores next as descriptor fd's word if it is still old,
// without the files lock, and reports whether it did (fd must be in the
// table, as LoadFlags found it; the mask only spares a bounds check).
// Context: trap, no lock needed; does not allocate.
func SwapFlags(fd int, old, next FlagWord) bool {
	return flagWord(&Files[fd&(MaxFDs-1)]).CompareAndSwap(uint64(old), uint64(next))
}

// SetFlag turns flag (FlagCloexec or FlagNonblock) of descriptor fd,
// whose word was first, on or off by compare-and-swap of its word, again
// while another CPU changes its flags beside (a flag call on it under
// the files lock held shared: fdcalls.FcntlFlags), and not at all once
// the word names another descriptor: fd closed beside (a file's, the
// files lock held shared) and perhaps given to another open, whose
// description differs (a closed one is not reused while the hold lasts,
// vfs.Reclaim). The close came first.
// Context: trap, files lock held; does not allocate.
func SetFlag(fd int, first, flag FlagWord, on bool) {
	for {
		w, _ := LoadFlags(fd)
		const flags = FlagCloexec | FlagNonblock // all but these say which descriptor it is
		if w&^flags != first&^flags || SwapFlags(fd, w, w.Set(flag, on)) {
			return
		}
	}
}
