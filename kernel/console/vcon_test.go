package console

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/virtq"
	"github.com/stretchr/testify/assert"
)

// TestVconLayoutFits checks that every queue's rings fit its page and
// that rings and slots fit the part of the DMA pool the console takes, on
// a small machine and a large one, and that a small machine's queues
// stay within the kernel's share of memory that abi.MinMemory counts.
func TestVconLayoutFits(t *testing.T) {
	for _, ramTop := range []uint64{16 << 20, vconTightRAM - 1, vconTightRAM, 4 << 30} {
		total := uint64(VqCount * mm.PageSize)
		for i := range vqSpec {
			size, slot := vconLayout(i, ramTop)
			_, rings := virtq.Layout(int(size))
			assert.LessOrEqual(t, uint64(rings), uint64(mm.PageSize), "queue %d", i)
			assert.LessOrEqual(t, int(size), virtq.MaxSize, "queue %d", i)
			assert.Zero(t, size&(size-1), "queue %d: size not a power of two", i)
			total += uint64(size) * uint64(slot)
		}
		_, klogSlot := vconLayout(vqKlog, ramTop)
		assert.GreaterOrEqual(t, int(klogSlot), len(klog.Prefix)+1024+1, "a /dev/kmsg record must fit a log slot")
		pool := vconPoolBytes(ramTop)
		assert.Equal(t, mm.PageRoundUp(total), pool, "RAM %#x", ramTop)
		assert.LessOrEqual(t, pool, uint64(VconPoolBytes), "RAM %#x", ramTop)
		if ramTop < vconTightRAM {
			assert.LessOrEqual(t, pool, uint64(160<<10), "RAM %#x: the small layout grew", ramTop)
			assert.LessOrEqual(t, pool+abi.KernelMemoryNoConsole, uint64(abi.KernelMemory), "RAM %#x", ramTop)
		} else {
			size, slot := vconLayout(vqStdout, ramTop)
			assert.Equal(t, 256<<10, int(size)*int(slot), "RAM %#x: standard output's bytes in flight", ramTop)
		}
	}
}

// resetConsoleInput empties the console ring for a test.
func resetConsoleInput(t *testing.T, tty bool) {
	conin.Head, conin.Len, conin.Edit, conin.EOF, conin.EOFMark, conin.TTY = 0, 0, 0, false, -1, tty
	t.Cleanup(func() { conin.Head, conin.Len, conin.Edit, conin.EOFMark, conin.TTY = 0, 0, 0, -1, false })
}

// readable returns the bytes a read would get now.
func readable() string {
	b := make([]byte, conin.Len)
	for i := range b {
		b[i] = conin.Buf[(conin.Head+i)%conin.BufSize]
	}
	return string(b)
}

// TestTTYLineEditing feeds keys through the tty line discipline: only
// whole lines become readable, Backspace erases a character (a UTF-8
// sequence whole), Ctrl-U the line, Enter is a newline, Ctrl-D makes a
// partial line readable or, on an empty line, marks end of file.
func TestTTYLineEditing(t *testing.T) {
	resetConsoleInput(t, true)
	consoleInput([]byte("ab"), true)
	assert.Equal(t, "", readable(), "a line being typed is not readable")
	consoleInput([]byte("x\x7fc\r"), true)
	assert.Equal(t, "abc\n", readable())
	consoleInput([]byte("zzz\x15héé\x7f\x08e\r"), true)
	assert.Equal(t, "abc\nhe\n", readable())
	consoleInput([]byte("no newline\x04"), true)
	assert.Equal(t, "abc\nhe\nno newline", readable())
	assert.Equal(t, -1, conin.EOFMark, "Ctrl-D after text is not end of file")
	consoleInput([]byte{ctrlD}, true)
	assert.Equal(t, conin.Len, conin.EOFMark, "Ctrl-D on an empty line: end of file after what is readable")
}

// TestConsoleInputRaw checks that without the tty option the stdin port
// passes every byte value unchanged.
func TestConsoleInputRaw(t *testing.T) {
	resetConsoleInput(t, false)
	var all [256]byte
	for i := range all {
		all[i] = byte(i)
	}
	consoleInput(all[:], false)
	assert.Equal(t, string(all[:]), readable())
}

// TestTTYLineLimit: a line takes at most maxCanon bytes; the rest is
// dropped until its end, which still goes through.
func TestTTYLineLimit(t *testing.T) {
	resetConsoleInput(t, true)
	long := make([]byte, maxCanon+100)
	for i := range long {
		long[i] = 'a'
	}
	consoleInput(long, true)
	assert.Equal(t, maxCanon, conin.Edit)
	consoleInput([]byte("\r"), true)
	assert.Equal(t, maxCanon+1, conin.Len)
}
