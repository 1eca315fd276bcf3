package fs

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// opsRun applies a sequence of operations chosen by next (which returns
// a number below its argument) to a file system, checking fsck's
// invariants and every file's contents against a model after each.
func opsRun(t testing.TB, e *env, steps int, next func(int) int) {
	names := []string{"a", "b", "c", "dd", repeat("e", 200)}
	path := func() string {
		p := ""
		for k := next(3) + 1; k > 0; k-- {
			p += "/" + names[next(len(names))]
		}
		if next(8) == 0 {
			p += "/"
		}
		return p
	}
	model := map[Ino][]byte{}
	var held []Ino
	for step := 0; step < steps; step++ {
		if next(10) == 0 {
			e.m.Budget = e.m.Taken + int64(next(4)) // sometimes nearly out of pages
		} else {
			e.m.Budget = 1 << 20
		}
		e.fs.Now = int64(step) * 1e9
		p := path()
		f, err := e.resolve(RootIno, p, false)
		op := next(12)
		if err != ok {
			continue
		}
		switch op {
		case 0, 1: // create
			if f.Ino == 0 && f.Dir != 0 {
				ino, err := e.fs.Create(e.m, f.Dir, f.Name, unix.S_IFREG|0o644, 0)
				if err == ok {
					model[ino] = nil
				}
			}
		case 2: // mkdir
			if f.Ino == 0 && f.Dir != 0 {
				_, _ = e.fs.Create(e.m, f.Dir, f.Name, unix.S_IFDIR|0o755, 0)
			}
		case 3, 4: // write
			if _, isFile := model[f.Ino]; isFile {
				off := int64(next(3 * PageSize))
				if next(20) == 0 {
					off = int64(next(600)) * PageSize // index depth 2
				}
				data := pattern(next(2*PageSize)+1, byte(step))
				n, err := e.fs.Write(e.m, f.Ino, off, data)
				if err == ok {
					require.Positive(t, n)
				} else {
					require.Equal(t, ENOSPC, err)
					require.Zero(t, n)
				}
				if c := model[f.Ino]; n > 0 {
					if end := off + int64(n); end > int64(len(c)) {
						c = append(c, make([]byte, end-int64(len(c)))...)
					}
					copy(c[off:], data[:n])
					model[f.Ino] = c
				}
			}
		case 5: // truncate
			if c, isFile := model[f.Ino]; isFile {
				size := int64(next(4 * PageSize))
				require.Equal(t, ok, e.fs.Truncate(e.m, f.Ino, size))
				if size < int64(len(c)) {
					c = c[:size]
				} else {
					c = append(c, make([]byte, size-int64(len(c)))...)
				}
				model[f.Ino] = c
			}
		case 6: // unlink or rmdir
			if f.Dir != 0 {
				if e.fs.IsDir(f.Ino) {
					_ = e.fs.Rmdir(e.m, f.Dir, f.Name)
				} else {
					_ = e.fs.Unlink(e.m, f.Dir, f.Name)
				}
			}
		case 7, 8: // rename
			g, err := e.resolve(RootIno, path(), false)
			if err == ok && f.Dir != 0 && g.Dir != 0 {
				flags := []uint32{0, 0, unix.RENAME_NOREPLACE, unix.RENAME_EXCHANGE}[next(4)]
				_ = e.fs.Rename(e.m, f.Dir, f.Name, g.Dir, g.Name, flags)
			}
		case 9: // link
			g, err := e.resolve(RootIno, path(), false)
			if err == ok && f.Ino != 0 && g.Dir != 0 {
				_ = e.fs.Link(e.m, f.Ino, g.Dir, g.Name)
			}
		case 10: // symlink
			if f.Ino == 0 && f.Dir != 0 {
				_, _ = e.fs.Symlink(e.m, f.Dir, f.Name, []byte(path()[1:]))
			}
		case 11: // open or close
			if f.Ino != 0 && next(2) == 0 {
				e.fs.Hold(f.Ino)
				held = append(held, f.Ino)
			} else if len(held) > 0 {
				k := next(len(held))
				e.fs.Drop(e.m, held[k])
				held = append(held[:k], held[k+1:]...)
			}
		}
		for ino, c := range model {
			if ino != f.Ino && step%50 != 0 {
				continue // the touched file each step, all of them now and then
			}
			ip := e.fs.node(ino)
			if ip == nil || ip.mode&unix.S_IFMT != unix.S_IFREG {
				delete(model, ino) // freed (and maybe reused)
				continue
			}
			require.Equal(t, int64(len(c)), ip.size, "size of %d at step %d", ino, step)
			got := make([]byte, len(c))
			n, err := e.fs.Read(e.m, ino, 0, got)
			require.Equal(t, ok, err)
			require.Equal(t, len(c), n)
			require.True(t, bytes.Equal(c, got), "contents of %d at step %d", ino, step)
		}
		if step%10 == 0 || step == steps-1 {
			fsck(t, e.fs, e.m)
		}
	}
	// remove everything: nothing may be left behind
	for _, ino := range held {
		e.fs.Drop(e.m, ino)
	}
	removeAll(t, e, RootIno)
	e.empty()
}

// removeAll empties directory d the way rm -r does.
func removeAll(t testing.TB, e *env, d Ino) {
	e.fs.Hold(d)
	for pos := int64(2); ; {
		de, more := e.fs.ReadDir(e.m, d, pos)
		if !more {
			break
		}
		pos = de.Next
		name := append([]byte(nil), de.Name...)
		if e.fs.IsDir(de.Ino) {
			removeAll(t, e, de.Ino)
			require.Equal(t, ok, e.fs.Rmdir(e.m, d, name))
		} else {
			require.Equal(t, ok, e.fs.Unlink(e.m, d, name))
		}
	}
	e.fs.Drop(e.m, d)
}

func TestRandomOps(t *testing.T) {
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 99))
		e := newEnv(t, 2048)
		opsRun(t, e, 1500, r.IntN)
	}
}

func FuzzOps(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"))
	f.Add(bytes.Repeat([]byte{3, 1, 0, 0, 1, 2}, 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		e := &env{t: t, fs: new(FS), m: reusedRAM(t, 2048)}
		e.fs.Init()
		k := 0
		next := func(n int) int {
			if k >= len(in) {
				return 0
			}
			k++
			return int(in[k-1]) % n
		}
		opsRun(t, e, len(in)/4+1, next)
	})
}
