package boot

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const memBase = 0x1000

func put32(m []byte, addr uint64, v uint32) { binary.LittleEndian.PutUint32(m[addr-memBase:], v) }
func put64(m []byte, addr uint64, v uint64) { binary.LittleEndian.PutUint64(m[addr-memBase:], v) }

func TestParsePVH(t *testing.T) {
	m := make([]byte, 0x10000)
	const info, cmd, mmap = 0x2000, 0x3000, 0x4000
	put32(m, info, PVHMagic)
	put32(m, info+4, 1)
	put64(m, info+24, cmd)
	put64(m, info+32, 0xf5a40)
	put64(m, info+40, mmap)
	put32(m, info+48, 3)
	copy(m[cmd-memBase:], "GOMAXPROCS=1 -- -v\x00")
	for i, r := range []Region{{0, 0x9fc00, 1}, {0xf0000, 0x10000, 2}, {0x100000, 0x7f00000, 1}} {
		put64(m, mmap+uint64(24*i), r.Base)
		put64(m, mmap+uint64(24*i)+8, r.Size)
		put32(m, mmap+uint64(24*i)+16, r.Type)
	}
	var out Info
	require.Equal(t, OK, Parse(0, info, m, memBase, &out))
	assert.Equal(t, PVH, out.Protocol)
	assert.Equal(t, "GOMAXPROCS=1 -- -v", string(out.Cmdline[:out.CmdlineLen]))
	assert.Equal(t, 3, out.NMem)
	assert.Equal(t, Region{0x100000, 0x7f00000, 1}, out.Mem[2])
	assert.Equal(t, uint64(0x8000000), out.RAMTop())
	assert.Equal(t, uint64(0xf5a40), out.RSDP)
}

func TestParseMultiboot(t *testing.T) {
	m := make([]byte, 0x10000)
	const info, cmd, mmap = 0x2000, 0x3000, 0x4000
	put32(m, info, mbFlagCmdline|mbFlagMmap)
	put32(m, info+16, cmd)
	put32(m, info+44, 2*24)
	put32(m, info+48, mmap)
	copy(m[cmd-memBase:], "/boot/kernel.img quiet\x00")
	for i, r := range []Region{{0, 0x9fc00, 1}, {0x100000, 0x3f00000, 1}} {
		a := mmap + uint64(24*i)
		put32(m, a, 20)
		put64(m, a+4, r.Base)
		put64(m, a+12, r.Size)
		put32(m, a+20, r.Type)
	}
	var out Info
	require.Equal(t, OK, Parse(MultibootMagic, info, m, memBase, &out))
	assert.Equal(t, Multiboot, out.Protocol)
	assert.Equal(t, "quiet", string(out.Cmdline[:out.CmdlineLen]))
	assert.Equal(t, 2, out.NMem)
	assert.Equal(t, uint64(0x4000000), out.RAMTop())
}

func TestParseRejectsGarbage(t *testing.T) {
	m := make([]byte, 0x1000)
	var out Info
	assert.Equal(t, ErrOutOfRange, Parse(0, 0x100000, m, memBase, &out))
	assert.Equal(t, ErrProtocol, Parse(0, 0x1000, m, memBase, &out))
	put32(m, 0x1000, PVHMagic)
	assert.Equal(t, ErrNoMemoryMap, Parse(0, 0x1000, m, memBase, &out))
	put32(m, 0x1000+4, 1)
	put64(m, 0x1000+40, 0xfffffffffffffff0) // wraps
	put32(m, 0x1000+48, 4)
	assert.Equal(t, ErrOutOfRange, Parse(0, 0x1000, m, memBase, &out))
	assert.NotEmpty(t, ErrOutOfRange.String())
}

func FuzzParse(f *testing.F) {
	f.Add(uint32(0), uint64(0x1000), []byte{0x78, 0xc5, 0x6e, 0x33, 1})
	f.Add(uint32(MultibootMagic), uint64(0x1000), []byte{0x44, 0, 0, 0})
	f.Fuzz(func(t *testing.T, eax uint32, addr uint64, data []byte) {
		var out Info
		_ = Parse(eax, addr, data, memBase, &out)
		assert.LessOrEqual(t, out.NMem, MaxRegions)
		assert.Less(t, out.CmdlineLen, len(out.Cmdline))
		assert.LessOrEqual(t, out.NModules, MaxModules)
		for _, md := range out.Modules[:out.NModules] {
			assert.LessOrEqual(t, md.End(), out.RAMTop())
		}
	})
}

func TestParseMultiboot2(t *testing.T) {
	m := make([]byte, 0x10000)
	const info = 0x2000
	p := uint64(info + 8)
	tag := func(typ uint32, body []byte) {
		put32(m, p, typ)
		put32(m, p+4, uint32(8+len(body)))
		copy(m[p+8-memBase:], body)
		p += (uint64(8+len(body)) + 7) &^ 7
	}
	tag(mb2TagCmdline, []byte("FOO=bar -- -v\x00"))
	mmap := make([]byte, 8+2*24)
	binary.LittleEndian.PutUint32(mmap[0:], 24)
	for i, r := range []Region{{0, 0x9fc00, 1}, {0x100000, 0x7ee0000, 1}} {
		binary.LittleEndian.PutUint64(mmap[8+24*i:], r.Base)
		binary.LittleEndian.PutUint64(mmap[16+24*i:], r.Size)
		binary.LittleEndian.PutUint32(mmap[24+24*i:], r.Type)
	}
	tag(mb2TagMmap, mmap)
	oldAt := p + 8
	tag(mb2TagACPIOld, []byte("RSD PTR \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	tag(99, []byte{1, 2, 3}) // unknown: skipped
	put32(m, p, mb2TagEnd)
	put32(m, p+4, 8)
	p += 8
	put32(m, info, uint32(p-info))
	var out Info
	require.Equal(t, OK, Parse(Multiboot2Magic, info, m, memBase, &out))
	assert.Equal(t, Multiboot2, out.Protocol)
	assert.Equal(t, "FOO=bar -- -v", string(out.Cmdline[:out.CmdlineLen]), "no kernel path to drop")
	assert.Equal(t, 2, out.NMem)
	assert.Equal(t, uint64(0x7fe0000), out.RAMTop())
	assert.Equal(t, oldAt, out.RSDP, "the RSDP copy inside the information")

	put32(m, info, 0xfffffff0) // total size beyond memory
	assert.Equal(t, ErrOutOfRange, Parse(Multiboot2Magic, info, m, memBase, &out))
}

// pvhInfo writes a PVH start info at 0x2000 with one RAM region of ram
// bytes and a module list of the given entries (paddr, size) at 0x5000.
func pvhInfo(m []byte, ram uint64, mods [][2]uint64) {
	const info, mmap, list = 0x2000, 0x4000, 0x5000
	put32(m, info, PVHMagic)
	put32(m, info+4, 1)
	put32(m, info+12, uint32(len(mods)))
	put64(m, info+16, list)
	put64(m, info+40, mmap)
	put32(m, info+48, 1)
	put64(m, mmap, 0)
	put64(m, mmap+8, ram)
	put32(m, mmap+16, RegionRAM)
	for i, md := range mods {
		put64(m, list+32*uint64(i), md[0])
		put64(m, list+32*uint64(i)+8, md[1])
		put64(m, list+32*uint64(i)+16, 0x3000) // cmdline: ignored
	}
}

// multibootInfo writes a multiboot v1 information structure at 0x2000
// with one RAM region of ram bytes and a module list of the given entries
// (mod_start, mod_end) at 0x5000.
func multibootInfo(m []byte, ram uint64, mods [][2]uint64) {
	const info, mmap, list = 0x2000, 0x4000, 0x5000
	put32(m, info, mbFlagMmap|mbFlagMods)
	put32(m, info+20, uint32(len(mods)))
	put32(m, info+24, list)
	put32(m, info+44, 24)
	put32(m, info+48, mmap)
	put32(m, mmap, 20)
	put64(m, mmap+4, 0)
	put64(m, mmap+12, ram)
	put32(m, mmap+20, RegionRAM)
	for i, md := range mods {
		put32(m, list+16*uint64(i), uint32(md[0]))
		put32(m, list+16*uint64(i)+4, uint32(md[1]))
		put32(m, list+16*uint64(i)+8, 0x3000)
	}
}

// multiboot2Info writes multiboot2 information at 0x2000: a memory map
// with one RAM region of ram bytes and one module tag per entry
// (mod_start, mod_end), with a string.
func multiboot2Info(m []byte, ram uint64, mods [][2]uint64) {
	const info = 0x2000
	p := uint64(info + 8)
	tag := func(typ uint32, body []byte) {
		put32(m, p, typ)
		put32(m, p+4, uint32(8+len(body)))
		copy(m[p+8-memBase:], body)
		p += (uint64(8+len(body)) + 7) &^ 7
	}
	for _, md := range mods {
		b := make([]byte, 8, 16)
		binary.LittleEndian.PutUint32(b, uint32(md[0]))
		binary.LittleEndian.PutUint32(b[4:], uint32(md[1]))
		tag(mb2TagModule, append(b, "initrd\x00"...))
	}
	mmap := make([]byte, 8+24)
	binary.LittleEndian.PutUint32(mmap, 24)
	binary.LittleEndian.PutUint64(mmap[16:], ram)
	binary.LittleEndian.PutUint32(mmap[24:], RegionRAM)
	tag(mb2TagMmap, mmap)
	put32(m, p, mb2TagEnd)
	put32(m, p+4, 8)
	put32(m, info, uint32(p+8-info))
}

// TestParseModules reads the module lists of the three protocols, good
// and malformed: a malformed entry is counted and skipped, never fatal.
func TestParseModules(t *testing.T) {
	const ram = 64 << 20
	many := make([][2]uint64, MaxModules+2)
	for i := range many {
		many[i] = [2]uint64{0x100000 * uint64(i+1), 0x100000*uint64(i+1) + 0x1000}
	}
	for _, tc := range []struct {
		name    string
		mods    [][2]uint64 // start, end
		want    []Module
		bad     int
		dropped bool
	}{
		{name: "none"},
		{name: "one", mods: [][2]uint64{{0x200000, 0x200123}}, want: []Module{{0x200000, 0x123}}},
		{name: "two in order", mods: [][2]uint64{{0x300000, 0x301000}, {0x200000, 0x200010}},
			want: []Module{{0x300000, 0x1000}, {0x200000, 0x10}}},
		{name: "empty module kept", mods: [][2]uint64{{0x200000, 0x200000}}, want: []Module{{0x200000, 0}}},
		{name: "end before start", mods: [][2]uint64{{0x200000, 0x1ff000}, {0x300000, 0x300001}},
			want: []Module{{0x300000, 1}}, bad: 1},
		{name: "at address 0", mods: [][2]uint64{{0, 0x1000}}, bad: 1},
		{name: "beyond RAM", mods: [][2]uint64{{ram - 0x1000, ram + 0x1000}, {ram - 0x1000, ram}},
			want: []Module{{ram - 0x1000, 0x1000}}, bad: 1},
		{name: "too many", mods: many, dropped: true, want: func() []Module {
			var w []Module
			for _, md := range many[:MaxModules] {
				w = append(w, Module{md[0], md[1] - md[0]})
			}
			return w
		}()},
	} {
		for _, p := range []struct {
			name  string
			eax   uint32
			write func(m []byte, ram uint64, mods [][2]uint64)
		}{
			{"PVH", 0, func(m []byte, ram uint64, mods [][2]uint64) {
				sizes := make([][2]uint64, len(mods))
				for i, md := range mods {
					sizes[i] = [2]uint64{md[0], md[1] - md[0]} // wraps for end < start
				}
				pvhInfo(m, ram, sizes)
			}},
			{"multiboot", MultibootMagic, multibootInfo},
			{"multiboot2", Multiboot2Magic, multiboot2Info},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				m := make([]byte, 0x10000)
				p.write(m, ram, tc.mods)
				var out Info
				require.Equal(t, OK, Parse(p.eax, 0x2000, m, memBase, &out))
				assert.Equal(t, tc.want, append([]Module(nil), out.Modules[:out.NModules]...))
				assert.Equal(t, tc.bad, out.BadModules, "bad modules")
				assert.Equal(t, tc.dropped, out.ModulesDropped, "modules dropped")
			})
		}
	}
}

// TestParseModuleListUnreadable: a module list outside readable memory,
// or a PVH entry whose size wraps, is counted as bad; the boot goes on.
func TestParseModuleListUnreadable(t *testing.T) {
	m := make([]byte, 0x10000)
	var out Info
	pvhInfo(m, 64<<20, [][2]uint64{{0x200000, 0x1000}})
	put64(m, 0x2000+16, 0x100000) // modlist_paddr outside the window
	require.Equal(t, OK, Parse(0, 0x2000, m, memBase, &out))
	assert.Equal(t, 0, out.NModules)
	assert.Equal(t, 1, out.BadModules)

	m = make([]byte, 0x10000)
	pvhInfo(m, 64<<20, [][2]uint64{{0x200000, 0xffffffffffffff00}, {0x200000, 0x10}})
	require.Equal(t, OK, Parse(0, 0x2000, m, memBase, &out))
	assert.Equal(t, []Module{{0x200000, 0x10}}, out.Modules[:out.NModules])
	assert.Equal(t, 1, out.BadModules, "base+size wraps")

	m = make([]byte, 0x10000)
	pvhInfo(m, 64<<20, nil)
	put32(m, 0x2000+12, 0xffffffff) // a garbage count: bounded work
	require.Equal(t, OK, Parse(0, 0x2000, m, memBase, &out))
	assert.Equal(t, 0, out.NModules)
	assert.True(t, out.ModulesDropped || out.BadModules > 0)

	m = make([]byte, 0x10000)
	multibootInfo(m, 64<<20, [][2]uint64{{0x200000, 0x201000}})
	put32(m, 0x2000+24, 0xfffffff8) // mods_addr outside the window
	require.Equal(t, OK, Parse(MultibootMagic, 0x2000, m, memBase, &out))
	assert.Equal(t, 0, out.NModules)
	assert.Equal(t, 1, out.BadModules)

	m = make([]byte, 0x10000)
	multiboot2Info(m, 64<<20, nil)
	put32(m, 0x2000+8, mb2TagModule) // a module tag too short for its fields
	put32(m, 0x2000+12, 12)
	put32(m, 0x2000+16, mb2TagEnd)
	put32(m, 0x2000+20, 8)
	put32(m, 0x2000, 24)
	// (the memory map was overwritten: only the module tag matters here)
	assert.Equal(t, ErrNoMemoryMap, Parse(Multiboot2Magic, 0x2000, m, memBase, &out))
	assert.Equal(t, 1, out.BadModules)
}

// TestParseMultiboot2ShortMmap: a memory-map tag too short to hold its
// entry size (8 or 12 bytes) is skipped, as a tag with no entries, and
// not read past its end; the tags after it still count.
func TestParseMultiboot2ShortMmap(t *testing.T) {
	for _, body := range [][]byte{nil, {24, 0, 0, 0}} {
		m := make([]byte, 0x10000)
		const info = 0x2000
		p := uint64(info + 8)
		put32(m, p, mb2TagMmap)
		put32(m, p+4, uint32(8+len(body)))
		copy(m[p+8-memBase:], body)
		p += (uint64(8+len(body)) + 7) &^ 7 // tags start 8-aligned
		put32(m, p, mb2TagCmdline)
		put32(m, p+4, 8+4)
		copy(m[p+8-memBase:], "a b\x00")
		p += 16
		put32(m, p, mb2TagEnd)
		put32(m, p+4, 8)
		put32(m, info, uint32(p+8-info))
		var out Info
		assert.Equal(t, ErrNoMemoryMap, Parse(Multiboot2Magic, info, m, memBase, &out), "a %d-byte memory-map tag", 8+len(body))
		assert.Equal(t, "a b", string(out.Cmdline[:out.CmdlineLen]), "the tag after it")
	}
}
