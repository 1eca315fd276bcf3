package qemu_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/ring3/fbtext"
	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/iso"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVGAMirror boots the shell with a VGA card and, while it waits for
// input, reads the text screen's memory through QEMU's QMP socket: the
// kernel log and the program's output must be on the screen, as for a
// machine without a serial port.
func TestVGAMirror(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "shell.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/shell", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	sock, dump := filepath.Join(dir, "qmp.sock"), filepath.Join(dir, "vga.bin")
	in, feed := io.Pipe()
	saved := make(chan error, 1)
	w := &watcher{want: "\n> ", then: func() {
		saved <- qmpPmemsave(sock, 0xb8000, 80*25*2, dump)
		feed.Write([]byte("exit 5\n"))
	}}
	res, err := qemu.Run(t.Context(), qemu.Options{
		Image: img, Stdin: in, Console: w, Timeout: 60 * time.Second,
		Extra: []string{"-device", "VGA", "-qmp", "unix:" + sock + ",server=on,wait=off"},
	})
	feed.Close()
	require.NoError(t, err)
	assert.Equal(t, 5, res.ExitCode)
	select {
	case err := <-saved:
		require.NoError(t, err, "QMP pmemsave")
	default:
		t.Fatal("the shell never prompted")
	}
	cells, err := os.ReadFile(dump)
	require.NoError(t, err)
	var screen strings.Builder
	for row := 0; row < 25; row++ {
		for col := 0; col < 80; col++ {
			screen.WriteByte(cells[2*(row*80+col)])
		}
		screen.WriteByte('\n')
	}
	text := screen.String()
	assert.Contains(t, text, "[gometal] booting: multiboot", "the kernel log is on the screen:\n%s", text)
	assert.Contains(t, text, "gometal shell: ps, sched, mem, echo, exit")
	assert.Equal(t, byte(0x07), cells[1], "light grey on black")
}

// qmpPmemsave saves size bytes of guest physical memory at addr to file
// through QEMU's QMP socket.
func qmpPmemsave(sock string, addr, size int, file string) error {
	return qemu.QMPCommand(sock, fmt.Sprintf(`{"execute":"pmemsave","arguments":{"val":%d,"size":%d,"filename":%q}}`, addr, size, file))
}

// qmpScreendump saves the display as a PPM file through QEMU's QMP socket.
func qmpScreendump(sock, file string) error {
	return qemu.QMPCommand(sock, fmt.Sprintf(`{"execute":"screendump","arguments":{"filename":%q}}`, file))
}

// TestFramebufferConsole boots the shell from a GRUB ISO under OVMF (UEFI,
// no VGA text mode): GRUB hands over the firmware's framebuffer and the
// kernel mirrors the console there. While the shell waits for input, the
// test takes a screen dump through QMP and reads the text back with the
// console's own font (kernel/ring3/fbtext).
func TestFramebufferConsole(t *testing.T) {
	if missing := iso.Missing(); len(missing) > 0 {
		t.Skipf("cannot build an ISO: %s", iso.MissingMessage(missing))
	}
	if _, err := os.Stat(OVMF); err != nil {
		t.Skipf("no UEFI firmware: %v (Debian package ovmf)", err)
	}
	dir := t.TempDir()
	img, isoFile := filepath.Join(dir, "shell.img"), filepath.Join(dir, "shell.iso")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/shell", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	require.NoError(t, iso.Build(t.Context(), iso.Options{Image: img, Out: isoFile}))
	sock, dump := filepath.Join(dir, "qmp.sock"), filepath.Join(dir, "screen.ppm")
	in, feed := io.Pipe()
	saved := make(chan error, 1)
	w := &watcher{want: "\n> ", then: func() {
		saved <- qmpScreendump(sock, dump)
		feed.Write([]byte("exit 4\n"))
	}}
	res, err := qemu.Run(t.Context(), qemu.Options{
		ISO: isoFile, BIOS: OVMF, Stdin: in, Console: w, Timeout: 120 * time.Second,
		Extra: []string{"-device", "VGA", "-qmp", "unix:" + sock + ",server=on,wait=off"},
	})
	feed.Close()
	require.NoError(t, err)
	assert.Equal(t, 4, res.ExitCode)
	assert.Regexp(t, `framebuffer console: \d+x\d+ at 0x[0-9a-f]+, \d+x\d+ characters`, string(res.KernelLog))
	select {
	case err := <-saved:
		require.NoError(t, err, "QMP screendump")
	default:
		t.Fatal("the shell never prompted")
	}
	width, height, rgb := readPPM(t, dump)
	lines := fbtext.ReadText(func(x, y int) bool {
		p := rgb[3*(y*width+x):]
		return p[0]|p[1]|p[2] != 0
	}, width, height)
	text := strings.Join(lines, "\n")
	assert.Contains(t, text, "[gometal] booting: multiboot2", "the kernel log is on the screen:\n%s", text)
	assert.Contains(t, text, "[gometal] framebuffer console:")
	assert.Contains(t, text, "gometal shell: ps, sched, mem, echo, exit")
}

// readPPM reads a binary PPM (P6, 8 bits per channel) screen dump.
func readPPM(t *testing.T, file string) (width, height int, rgb []byte) {
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var maxval int
	n, err := fmt.Sscanf(string(b), "P6\n%d %d\n%d\n", &width, &height, &maxval)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, 255, maxval)
	rgb = b[len(b)-3*width*height:]
	return width, height, rgb
}
