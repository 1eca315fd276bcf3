package qemu_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
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
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	reply := func() error {
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				return err
			}
			if _, ok := m["event"]; ok {
				continue
			}
			if e, ok := m["error"]; ok {
				return fmt.Errorf("qmp: %v", e)
			}
			return nil
		}
	}
	if err := reply(); err != nil { // the greeting
		return err
	}
	for _, cmd := range []string{
		`{"execute":"qmp_capabilities"}`,
		fmt.Sprintf(`{"execute":"pmemsave","arguments":{"val":%d,"size":%d,"filename":%q}}`, addr, size, file),
	} {
		if _, err := io.WriteString(c, cmd+"\n"); err != nil {
			return err
		}
		if err := reply(); err != nil {
			return err
		}
	}
	return nil
}
