package devices

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// irqDescriptor makes descriptor fd an open /dev/irq descriptor of
// vector v for the test, and puts the tables back after it.
func irqDescriptor(t *testing.T, fd int, v uint8) *fdtab.File {
	t.Helper()
	savedFD, savedDev, savedFile := irqFDs, irqDevOf, fdtab.Files[fd]
	t.Cleanup(func() {
		irqFDs, irqDevOf, fdtab.Files[fd] = savedFD, savedDev, savedFile
		fdtab.NotifyFDs.TakeWord(fd / 64)
		fdtab.NotifyPending.Store(false)
	})
	fdtab.NotifyFDs.TakeWord(fd / 64)
	fdtab.NotifyPending.Store(false)
	fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindIRQ, Vector: v, Reader: sched.None}
	irqFDs[v] = int16(fd + 1)
	return &fdtab.Files[fd]
}

// TestIRQInterruptShared: an MSI's interrupt is counted under the files
// lock held shared (the count and its edge sequence move, the descriptor
// is recorded for epoll), and everything that needs the kernel lock's
// path is refused there, having changed nothing: a thread blocked reading
// the descriptor (its wake is the scheduler's), a platform device's line
// routed to the vector (masked on its I/O APIC until the count is read),
// a vector with no descriptor and one outside /dev/irq's range.
func TestIRQInterruptShared(t *testing.T) {
	const fd, v = 70, 0x41
	f := irqDescriptor(t, fd, v)
	assert.True(t, IRQShared(f), "an MSI's vector")
	require.True(t, IRQInterruptShared(v))
	assert.Equal(t, uint64(1), f.Counted())
	assert.Equal(t, uint64(1), f.Seq, "an edge for epoll")
	assert.True(t, fdtab.NotifyFDs.Has(fd), "recorded for the epoll instances that watch it")
	assert.True(t, fdtab.NotifyPending.Load())
	require.True(t, IRQInterruptShared(v))
	assert.Equal(t, uint64(2), f.Counted(), "the count grows until read")

	f.Reader = 3
	assert.False(t, IRQInterruptShared(v), "a blocked reader: the kernel lock's path wakes it")
	f.Reader = sched.None
	irqDevOf[v] = 1
	assert.False(t, IRQShared(f), "a platform device's line")
	assert.False(t, IRQInterruptShared(v), "a platform device's line: the kernel lock's path masks it")
	irqDevOf[v] = 0
	assert.Equal(t, uint64(2), f.Counted(), "the refusals changed nothing")
	assert.Equal(t, uint64(2), f.Seq)

	assert.False(t, IRQInterruptShared(v+1), "no descriptor on that vector")
	assert.False(t, IRQInterruptShared(0x24), "the serial port's vector, below /dev/irq's range")
	assert.False(t, IRQInterruptShared(0xf0), "the kick IPI's vector, above it")
	assert.True(t, IRQVector(IRQFirstVector) && IRQVector(IRQLastVector))
	assert.False(t, IRQVector(IRQFirstVector-1) || IRQVector(IRQLastVector+1))
}

// TestIRQCountBeside: interrupts counted beside reads that take the
// count (as an eventfd's, fdtab.File.Counted then TakeCount: package
// fdcalls' shared read), on several goroutines at once, lose no
// interrupt and read none twice. Run with -race.
func TestIRQCountBeside(t *testing.T) {
	const fd, v, interrupts = 71, 0x42, 20000
	f := irqDescriptor(t, fd, v)
	var taken atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if c := f.Counted(); c != 0 && f.TakeCount(c, c) {
					taken.Add(c)
				}
			}
		}()
	}
	counted := 0
	for range interrupts {
		if IRQInterruptShared(v) {
			counted++
		}
	}
	close(done)
	wg.Wait()
	assert.Equal(t, interrupts, counted)
	assert.Equal(t, uint64(interrupts), taken.Load()+f.Counted(), "every interrupt read once")
}
