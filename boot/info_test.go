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
