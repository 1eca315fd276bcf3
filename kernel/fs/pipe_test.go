package fs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func newPipes(t *testing.T, pages int) (*Pipes, *Mem) {
	return new(Pipes), &Mem{Frames: fakeRAM(t, pages), Budget: int64(pages)}
}

func TestPipeBasic(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, err := ps.New()
	require.Equal(t, ok, err)
	r, w := ps.Ends(i)
	assert.Equal(t, int32(1), r)
	assert.Equal(t, int32(1), w)
	assert.Zero(t, ps.Buffered(i))
	assert.True(t, ps.HasRoom(i))
	buf := make([]byte, 10)
	n, err := ps.Read(m, i, buf)
	assert.Equal(t, EAGAIN, err, "empty with a writer")
	assert.Zero(t, n)
	n, err = ps.Read(m, i, nil)
	assert.Equal(t, ok, err)
	assert.Zero(t, n)
	assert.Zero(t, m.Taken, "no page until written")

	n, err = ps.Write(m, i, []byte("hello"))
	require.Equal(t, ok, err)
	assert.Equal(t, 5, n)
	assert.Equal(t, 5, ps.Buffered(i))
	assert.Equal(t, int64(1), m.Taken)
	n, err = ps.Read(m, i, buf[:3])
	require.Equal(t, ok, err)
	assert.Equal(t, "hel", string(buf[:n]))
	n, err = ps.Read(m, i, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "lo", string(buf[:n]))
	n, err = ps.Write(m, i, nil)
	assert.Equal(t, ok, err)
	assert.Zero(t, n)

	// EOF once the last writer goes
	ps.Open(i, false)
	_, err = ps.Write(m, i, []byte("xy"))
	require.Equal(t, ok, err)
	ps.Close(m, i, false)
	assert.Equal(t, 2, ps.Buffered(i), "a writer's close keeps what it wrote")
	ps.Close(m, i, false)
	n, err = ps.Read(m, i, buf)
	assert.Equal(t, ok, err)
	assert.Equal(t, "xy", string(buf[:n]), "what is held is still read")
	n, err = ps.Read(m, i, buf)
	assert.Equal(t, ok, err, "end of file, without waiting")
	assert.Zero(t, n)
	_, w = ps.Ends(i)
	assert.Zero(t, w, "no writer left")
	ps.Close(m, i, true)
	assert.Zero(t, m.Taken, "the last close gives the pages back")
	assert.Equal(t, uint64(64), m.Frames.FreeCount())
	j, err := ps.New()
	require.Equal(t, ok, err)
	assert.Equal(t, i, j, "the slot is free again")
}

func TestPipeEPIPE(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, _ := ps.New()
	_, err := ps.Write(m, i, []byte("abc"))
	require.Equal(t, ok, err)
	ps.Close(m, i, true)
	n, err := ps.Write(m, i, []byte("x"))
	assert.Equal(t, EPIPE, err)
	assert.Zero(t, n)
	n, err = ps.Write(m, i, nil)
	assert.Equal(t, ok, err, "a null write succeeds (Linux's pipe_write checks it first)")
	assert.Zero(t, n)
	r, _ := ps.Ends(i)
	assert.Zero(t, r, "no reader left: every write fails at once")
	ps.Close(m, i, false)
	assert.Zero(t, m.Taken)
}

func TestPipeFullAndAtomic(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, _ := ps.New()
	n, err := ps.Write(m, i, make([]byte, PipeSize-100))
	require.Equal(t, ok, err)
	require.Equal(t, PipeSize-100, n)
	assert.False(t, ps.HasRoom(i), "less than PipeBuf free")
	// a small write that does not fit is refused whole
	n, err = ps.Write(m, i, make([]byte, 101))
	assert.Equal(t, EAGAIN, err)
	assert.Zero(t, n)
	n, err = ps.Write(m, i, make([]byte, PipeBuf))
	assert.Equal(t, EAGAIN, err)
	assert.Zero(t, n)
	// one that fits goes in
	n, err = ps.Write(m, i, make([]byte, 60))
	require.Equal(t, ok, err)
	assert.Equal(t, 60, n)
	// a large write goes in partly
	n, err = ps.Write(m, i, make([]byte, PipeBuf+1))
	require.Equal(t, ok, err)
	assert.Equal(t, 40, n)
	assert.Equal(t, PipeSize, ps.Buffered(i))
	n, err = ps.Write(m, i, make([]byte, PipeBuf+1))
	assert.Equal(t, EAGAIN, err, "full")
	assert.Zero(t, n)
	assert.Equal(t, int64(pipePages), m.Taken)
	buf := make([]byte, PipeSize+10)
	n, err = ps.Read(m, i, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, PipeSize, n)
	assert.True(t, ps.HasRoom(i))
	ps.Close(m, i, true)
	ps.Close(m, i, false)
	assert.Zero(t, m.Taken)
}

// TestPipeWraparound pushes data through the ring in odd-sized pieces so
// that reads and writes cross page boundaries and the ring's end.
func TestPipeWraparound(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, _ := ps.New()
	var in, out bytes.Buffer
	src := pattern(10*PipeSize+12345, 1)
	sizes := []int{1, 4095, 4097, 333, 7000, PipeBuf, 20000, 65536}
	rsizes := []int{5000, 1, 4096, 9999, 123}
	for k := 0; out.Len() < len(src); k++ {
		if in.Len() < len(src) {
			chunk := src[in.Len():min(in.Len()+sizes[k%len(sizes)], len(src))]
			n, err := ps.Write(m, i, chunk)
			if err == ok {
				in.Write(chunk[:n])
			} else {
				require.Equal(t, EAGAIN, err)
			}
		}
		buf := make([]byte, rsizes[k%len(rsizes)])
		n, err := ps.Read(m, i, buf)
		if err == ok {
			out.Write(buf[:n])
		} else {
			require.Equal(t, EAGAIN, err)
		}
		require.Less(t, k, 100000)
	}
	assert.True(t, bytes.Equal(src, out.Bytes()), "the bytes come out in order")
	assert.LessOrEqual(t, m.Taken, int64(pipePages))
	ps.Close(m, i, false)
	ps.Close(m, i, true)
	assert.Zero(t, m.Taken)
}

func TestPipeOutOfPages(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, _ := ps.New()
	m.Budget = 2
	n, err := ps.Write(m, i, make([]byte, 3*PageSize))
	assert.Equal(t, ok, err)
	assert.Equal(t, 2*PageSize, n, "a large write stops where the pages do")
	n, err = ps.Write(m, i, make([]byte, 10))
	assert.Equal(t, unix.ENOMEM, err, "no page, and reading will not make one")
	assert.Zero(t, n)
	assert.Equal(t, 2*PageSize, ps.Buffered(i))
	// an atomic write is never split by a missing page
	j, _ := ps.New()
	m.Budget = m.Taken + 1
	n, err = ps.Write(m, j, make([]byte, PageSize-10))
	require.Equal(t, ok, err)
	require.Equal(t, PageSize-10, n)
	n, err = ps.Write(m, j, make([]byte, 100))
	assert.Equal(t, unix.ENOMEM, err, "needs a second page that is not there")
	assert.Zero(t, n, "all or nothing")
	assert.Equal(t, PageSize-10, ps.Buffered(j))
	ps.Close(m, i, false)
	ps.Close(m, i, true)
	ps.Close(m, j, false)
	ps.Close(m, j, true)
	assert.Zero(t, m.Taken)
}

func TestPipeTableFull(t *testing.T) {
	ps, _ := newPipes(t, 1)
	for k := 0; k < MaxPipes; k++ {
		_, err := ps.New()
		require.Equal(t, ok, err)
	}
	_, err := ps.New()
	assert.Equal(t, ENFILE, err)
}

// TestPipeNoPages: a write that may take no page (NoPages) writes into
// the pages the pipe has, and answers ENOMEM, having written nothing,
// where it would take one, however much it could have written before:
// the ring's count moves only at the end.
func TestPipeNoPages(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, _ := ps.New()
	none := &Mem{Frames: m.Frames, Budget: NoPages}
	n, err := ps.Write(none, i, []byte("x"))
	assert.Equal(t, unix.ENOMEM, err, "a new pipe has no page")
	assert.Zero(t, n)
	assert.Zero(t, ps.Buffered(i))
	_, err = ps.Write(m, i, []byte("hello"))
	require.Equal(t, ok, err)
	n, err = ps.Write(none, i, []byte(" world"))
	require.Equal(t, ok, err, "into the page the pipe has")
	assert.Equal(t, 6, n)
	n, err = ps.Write(none, i, make([]byte, 2*PageSize))
	assert.Equal(t, unix.ENOMEM, err, "a large write that would take the second page")
	assert.Zero(t, n)
	assert.Equal(t, 11, ps.Buffered(i), "and wrote nothing")
	assert.Zero(t, none.Taken)
	buf := make([]byte, 20)
	n, _ = ps.Read(m, i, buf)
	assert.Equal(t, "hello world", string(buf[:n]))

	_, err = ps.Write(m, i, make([]byte, PipeSize))
	require.Equal(t, ok, err)
	_, err = ps.Read(m, i, make([]byte, 3*PageSize+100))
	require.Equal(t, ok, err)
	n, err = ps.Write(none, i, make([]byte, PipeSize))
	require.Equal(t, ok, err, "every page taken: the write wraps around the ring onto pages it has")
	assert.Equal(t, 3*PageSize+100, n)
}

// TestPipeLock: the pipe's lock keeps its holders apart, and pipes'
// locks are their own. Run with -race.
func TestPipeLock(t *testing.T) {
	ps, m := newPipes(t, 64)
	i, _ := ps.New()
	j, _ := ps.New()
	ps.Lock(j) // another pipe's lock held throughout
	const writers, each = 4, 500
	done := make(chan struct{})
	for w := range writers {
		go func() {
			for k := 0; k < each; {
				ps.Lock(i)
				n, err := ps.Write(m, i, []byte{byte(w), byte(k)})
				ps.Unlock(i)
				if err == ok {
					assert.Equal(t, 2, n)
					k++
				}
			}
			done <- struct{}{}
		}()
	}
	next := make([]int, writers)
	for got, left := 0, writers; got < writers*each || left > 0; {
		select {
		case <-done:
			left--
			continue
		default:
		}
		b := make([]byte, 2)
		ps.Lock(i)
		n, err := ps.Read(m, i, b)
		ps.Unlock(i)
		if err != ok || n == 0 {
			continue
		}
		require.Equal(t, 2, n, "a write of two bytes is read whole")
		require.Equal(t, byte(next[b[0]]), b[1], "writer %d's records in order", b[0])
		next[b[0]]++
		got++
	}
	for w := range writers {
		assert.Equal(t, each, next[w])
	}
	ps.Unlock(j)
}
