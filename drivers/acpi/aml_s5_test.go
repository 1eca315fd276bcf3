package acpi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestS5Encodings(t *testing.T) {
	for _, tc := range []struct {
		name string
		aml  []byte
		want S5
	}{
		{"SeaBIOS/QEMU zeros", amlS5Zero, S5{0, 0}},
		{"ByteConst", amlS5Byte, S5{5, 5}},
		{"root prefix", []byte{0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x07, 0x0a, 0x07, 0x00, 0x00}, S5{7, 7}},
		{"parent prefixes", []byte{0x08, '^', '^', '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x01, 0x0a, 0x03}, S5{1, 3}},
		{"OneOp and ZeroOp", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x00}, S5{1, 0}},
		{"WordConst and DWordConst", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x0b, 0x02, 0x0b, 0x06, 0x00, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00}, S5{6, 2}},
		{"QWordConst", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x0b, 0x01, 0x0e, 0x05, 0, 0, 0, 0, 0, 0, 0}, S5{5, 0}},
		{"one element", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05}, S5{5, 0}},
		{"two declared, one present", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x0a, 0x05}, S5{5, 0}},
		{"two-byte PkgLength", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x04, 0x0a, 0x05, 0x0a, 0x05,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, S5{5, 5}},
		{"four-byte PkgLength", []byte{0x08, '_', 'S', '5', '_', 0x12, 0xc9, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x05, 0x0a, 0x06}, S5{5, 6}},
		{"after a false start", append([]byte{0x0d, '_', 'S', '5', '_', 0x12, 0x00, 0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00}, amlS5Byte...), S5{5, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s S5
			aml := append([]byte{0x10, 0x05, '_', 'S', 'B', '_'}, tc.aml...)
			if assert.True(t, findS5(aml, &s)) {
				assert.Equal(t, tc.want, s)
			}
		})
	}
}

func TestS5Rejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		aml  []byte
	}{
		{"empty", nil},
		{"name only", []byte{0x08, '_', 'S', '5', '_'}},
		{"no NameOp", []byte{0x00, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00}},
		{"at the start, no NameOp", []byte{'_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00}},
		{"method, not package", []byte{0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xa4, 0x00}},
		{"PkgLength past the end", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00}},
		{"PkgLength truncated", []byte{0x08, '_', 'S', '5', '_', 0x12, 0xc0, 0x00}},
		{"PkgLength reserved bits", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x70, 0x00, 0x02, 0x00, 0x00}},
		{"PkgLength without NumElements", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x01}},
		{"PkgLength zero", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x00}},
		{"no elements", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00}},
		{"declared but absent", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x02}},
		{"not an integer", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 'A', 'B', 'C', 'D'}},
		{"second not an integer", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 0x00, 'A', 'B', 'C', 'D'}},
		{"ByteConst truncated", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x01, 0x0a}},
		{"WordConst truncated", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0b, 0x05}},
		{"DWordConst truncated", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0c, 0x05, 0x00}},
		{"QWordConst truncated", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0e, 0x05, 0x00}},
		{"value over 7", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x08}},
		{"second value over 7", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x00, 0x0a, 0x10}},
		{"OnesOp", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x01, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := S5{9, 9}
			assert.False(t, findS5(tc.aml, &s))
			assert.Equal(t, S5{}, s)
		})
	}
}

func TestPkgLength(t *testing.T) {
	for _, tc := range []struct {
		b            []byte
		length, size int
	}{
		{[]byte{0x3f}, 0x3f, 1},
		{[]byte{0x41, 0x02}, 0x21, 2},
		{[]byte{0x8f, 0xff, 0xff}, 0xfffff, 3},
		{[]byte{0xcf, 0xff, 0xff, 0xff}, 0xfffffff, 4},
	} {
		l, n, ok := pkgLength(tc.b)
		assert.True(t, ok)
		assert.Equal(t, tc.length, l, "% x", tc.b)
		assert.Equal(t, tc.size, n, "% x", tc.b)
	}
}
