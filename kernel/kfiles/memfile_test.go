package kfiles

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func text(f *File) string { return string(f.Data[:f.N]) }

func TestWriterAndIPv4(t *testing.T) {
	var f File
	w := Writer{F: &f}
	w.S("a ").U(0).S(" ").U(18446744073709551615).S(" ")
	WriteIPv4(w, [4]byte{10, 0, 2, 3})
	assert.Equal(t, "a 0 18446744073709551615 10.0.2.3", text(&f))
}

// TestResolvConfFromBootOptions checks that the dns= value handed down at
// boot is what /etc/resolv.conf lists, and that without it the file names
// QEMU's resolver.
func TestResolvConfFromBootOptions(t *testing.T) {
	t.Cleanup(func() { SetBootOptions(nil, "", false) })
	SetBootOptions([]byte("dns=1.1.1.1,9.9.9.9 -- x"), "1.1.1.1,9.9.9.9", true)
	var f File
	fillMemFile(fileResolvConf, &f)
	assert.Equal(t, "# gometal: from the dns= option\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n", text(&f))

	SetBootOptions(nil, "", false)
	f = File{}
	fillMemFile(fileResolvConf, &f)
	assert.Contains(t, text(&f), "nameserver 10.0.2.3\n")
}

// TestViews checks that exactly package kernel's view (its scheduler's,
// locks' and traps' state) is left to it: every other file is filled here.
func TestViews(t *testing.T) {
	var views []string
	for i, p := range Paths {
		if ViewOf(i) != ViewNone {
			views = append(views, p)
		}
	}
	require.Equal(t, []string{"/proc/gometal/sched"}, views)
}
