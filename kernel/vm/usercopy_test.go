package vm

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/x86"
)

// TestFixupTableLookup checks the table's lookup on made-up entries: an
// entry's exact PC is found with its resume PC and kind, any other PC
// (the byte after, a zero PC that an empty slot holds) is not.
func TestFixupTableLookup(t *testing.T) {
	var tab FixupTable
	tab[0] = FixupEntry{PC: 0x1000, Resume: 0x2000, Kind: FixupLeft}
	tab[2] = FixupEntry{PC: 0x1040, Resume: 0x2000, Kind: FixupFlag}

	resume, kind, ok := tab.Lookup(0x1000)
	require.True(t, ok)
	assert.Equal(t, uintptr(0x2000), resume)
	assert.Equal(t, FixupLeft, kind)
	resume, kind, ok = tab.Lookup(0x1040)
	require.True(t, ok)
	assert.Equal(t, uintptr(0x2000), resume)
	assert.Equal(t, FixupFlag, kind)
	for _, pc := range []uintptr{0, 0x1001, 0x0fff, 0x1041, 0x2000} {
		_, _, ok = tab.Lookup(pc)
		assert.False(t, ok, "pc %#x is no entry", pc)
	}
}

// TestUserAccessTable checks the real table: one entry per access
// routine, at distinct addresses, all resuming at userFixupRet; the copy
// reports bytes left, the single accesses a flag.
func TestUserAccessTable(t *testing.T) {
	var pcs [nAccessPCs]uintptr
	accessPCs(&pcs)
	tab := userAccessTable()
	seen := map[uintptr]bool{}
	for i, e := range tab {
		assert.NotZero(t, e.PC, "entry %d", i)
		assert.False(t, seen[e.PC], "entry %d's PC is another's", i)
		seen[e.PC] = true
		assert.Equal(t, pcs[accResume], e.Resume, "entry %d resumes at userFixupRet", i)
		want := FixupFlag
		if i == accMovs {
			want = FixupLeft
		}
		assert.Equal(t, want, e.Kind, "entry %d", i)
		resume, kind, ok := Fixup(e.PC)
		assert.True(t, ok)
		assert.Equal(t, e.Resume, resume)
		assert.Equal(t, e.Kind, kind)
	}
	_, _, ok := Fixup(pcs[accResume])
	assert.False(t, ok, "the resume RET cannot fault")
}

// TestFixUserFault applies the handler's decision to trap frames: a fault
// of an access routine on a user address resumes at userFixupRet with the
// failure marked (CX left alone for the copy, 1 for a single access); a
// kernel address or any other PC is left for the panic report.
func TestFixUserFault(t *testing.T) {
	var pcs [nAccessPCs]uintptr
	accessPCs(&pcs)

	f := x86.TrapFrame{RIP: uint64(pcs[accMovs]), CX: 77}
	require.True(t, FixUserFault(&f, 0x400000))
	assert.Equal(t, uint64(pcs[accResume]), f.RIP)
	assert.Equal(t, uint64(77), f.CX, "the copy's bytes left stay in CX")

	for _, i := range []int{accLoad32, accLoad64, accStore32, accStore64} {
		f = x86.TrapFrame{RIP: uint64(pcs[i])}
		require.True(t, FixUserFault(&f, UserTop-1), "routine %d", i)
		assert.Equal(t, uint64(pcs[accResume]), f.RIP)
		assert.Equal(t, uint64(fixupFaulty), f.CX, "routine %d's wrapper sees the flag", i)
	}

	f = x86.TrapFrame{RIP: uint64(pcs[accStore64]), CX: 0}
	assert.False(t, FixUserFault(&f, UserTop), "a kernel address is the kernel's own fault")
	assert.Equal(t, x86.TrapFrame{RIP: uint64(pcs[accStore64])}, f, "the frame is untouched")

	f = x86.TrapFrame{RIP: uint64(pcs[accStore64]) + 1}
	assert.False(t, FixUserFault(&f, 0x400000), "an instruction not in the table")
	f = x86.TrapFrame{RIP: uint64(pcs[accResume])}
	assert.False(t, FixUserFault(&f, 0x400000))
}

// TestAccessRoutinesCode disassembles the access routines as linked into
// this test binary (the same assembly the kernel image links): each
// table entry's PC must be the one memory access it claims (REP MOVSB, or
// one aligned MOV of the right width through DI), followed directly by
// RET, so the fault can only be at the entry's PC and nothing runs
// between the access and the return; the resume PC must be a RET.
func TestAccessRoutinesCode(t *testing.T) {
	var pcs [nAccessPCs]uintptr
	accessPCs(&pcs)
	want := map[int]struct {
		op    x86asm.Op
		bytes int
		load  bool
	}{
		accLoad32:  {x86asm.MOV, 4, true},
		accLoad64:  {x86asm.MOV, 8, true},
		accStore32: {x86asm.MOV, 4, false},
		accStore64: {x86asm.MOV, 8, false},
	}
	for i := range nFixups {
		code := unsafe.Slice((*byte)(cpu.Pointer(pcs[i])), 16)
		inst, err := x86asm.Decode(code, 64)
		require.NoError(t, err, "routine %d", i)
		if i == accMovs {
			assert.Equal(t, x86asm.MOVSB, inst.Op)
			assert.Equal(t, x86asm.PrefixREP, inst.Prefix[0]&0xff, "REP MOVSB: %v", inst)
		} else {
			w := want[i]
			assert.Equal(t, w.op, inst.Op, "routine %d: %v", i, inst)
			assert.Equal(t, w.bytes, inst.MemBytes, "routine %d: %v", i, inst)
			memArg := 0
			if w.load {
				memArg = 1
			}
			m, ok := inst.Args[memArg].(x86asm.Mem)
			require.True(t, ok, "routine %d: %v", i, inst)
			assert.Equal(t, x86asm.Mem{Base: x86asm.RDI}, m, "routine %d: %v", i, inst)
		}
		next, err := x86asm.Decode(code[inst.Len:], 64)
		require.NoError(t, err)
		assert.Equal(t, x86asm.RET, next.Op, "routine %d returns right after the access", i)
	}
	ret, err := x86asm.Decode(unsafe.Slice((*byte)(cpu.Pointer(pcs[accResume])), 16), 64)
	require.NoError(t, err)
	assert.Equal(t, x86asm.RET, ret.Op, "userFixupRet")
}

// TestAccessRoutinesRun runs the wrappers on ordinary memory, where they
// must not fault: every byte copied, every value loaded and stored, and
// the flag clear.
func TestAccessRoutinesRun(t *testing.T) {
	src := []byte("fault-tolerant copies")
	dst := make([]byte, len(src))
	addr := uintptr(unsafe.Pointer(&dst[0]))
	assert.Equal(t, len(src), CopyToUser(addr, src))
	assert.Equal(t, src, dst)
	back := make([]byte, len(src))
	assert.Equal(t, len(src), CopyFromUser(back, addr))
	assert.Equal(t, src, back)
	assert.Zero(t, CopyToUser(addr, nil))

	var words [2]uint64
	w := uintptr(unsafe.Pointer(&words[0]))
	assert.True(t, Store64(w, 0x1122334455667788))
	assert.True(t, store32User(w+8, 0xcafef00d))
	assert.Equal(t, [2]uint64{0x1122334455667788, 0xcafef00d}, words)
	v64, ok := load64User(w)
	assert.True(t, ok)
	assert.Equal(t, uint64(0x1122334455667788), v64)
	v32, ok := load32User(w + 4)
	assert.True(t, ok)
	assert.Equal(t, uint32(0x11223344), v32)
}
