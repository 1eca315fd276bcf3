package qemu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeStatus(t *testing.T) {
	tests := []struct {
		status int
		code   int
		err    error
	}{
		{status: 1, code: 0},
		{status: 3, code: 1},
		{status: 7, code: 3},
		{status: 253, code: 126},
		{status: 255, code: -1, err: ErrKernelPanic},
		{status: 0, code: -1, err: ErrNoStatus},
		{status: 2, code: -1, err: ErrQEMU},
		{status: 254, code: -1, err: ErrQEMU},
		{status: -1, code: -1, err: ErrQEMU},
	}
	for _, tt := range tests {
		code, err := DecodeStatus(tt.status)
		assert.Equal(t, tt.code, code, "status %d", tt.status)
		if tt.err == nil {
			assert.NoError(t, err, "status %d", tt.status)
		} else {
			assert.ErrorIs(t, err, tt.err, "status %d", tt.status)
		}
	}
}

// withQboot makes qbootFor answer rom ("": QEMU has no qboot) for the
// test's duration.
func withQboot(t *testing.T, rom string) {
	saved := qbootFor
	qbootFor = func(string) string { return rom }
	t.Cleanup(func() { qbootFor = saved })
}

func TestOptionsArgsDefaults(t *testing.T) {
	withQboot(t, "")
	args := Options{Image: "x.img"}.Args()
	want := []string{
		"-machine", "q35", "-cpu", "Westmere-v1,+rdrand", "-smp", "1", "-m", "256M",
		"-kernel", "x.img", "-nodefaults", "-display", "none", "-serial", "stdio",
		"-monitor", "none", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
	}
	assert.Equal(t, want, args)

	o := Options{}.withDefaults()
	assert.Equal(t, DefaultQEMU, o.QEMU)
	assert.Equal(t, 60*time.Second, o.Timeout)
}

func TestOptionsArgsAll(t *testing.T) {
	args := Options{
		Image:  "y.img",
		SMP:    4,
		Mem:    "2G",
		Append: "FOO=bar -- -flag value",
		Initrd: "rd.cpio",
		Net:    "user,hostfwd=tcp::8080-:80",
		Extra:  []string{"-d", "int"},
	}.Args()
	require.Equal(t, "-smp", args[4])
	assert.Equal(t, "4", args[5])
	assert.Equal(t, "2G", args[7])
	assert.Equal(t, []string{
		"-append", "FOO=bar -- -flag value",
		"-initrd", "rd.cpio",
		"-netdev", "user,id=net0,hostfwd=tcp::8080-:80",
		"-device", "virtio-net-pci,netdev=net0,disable-legacy=on",
		"-d", "int",
	}, args[len(args)-10:])

	args = Options{Image: "z", Net: "user"}.Args()
	assert.Contains(t, args, "user,id=net0")
}

func TestOptionsArgsISO(t *testing.T) {
	args := Options{ISO: "x.iso", BIOS: "/fw/OVMF.fd"}.Args()
	assert.Equal(t, []string{"-bios", "/fw/OVMF.fd", "-cdrom", "x.iso"}, args[8:12])
	assert.NotContains(t, args, "-kernel")

	assert.ErrorContains(t, Options{ISO: "x.iso", Image: "y"}.checkBoot(), "both")
	assert.ErrorContains(t, Options{ISO: "x.iso", Append: "A=b"}.checkBoot(), "grub.cfg")
	assert.ErrorContains(t, Options{ISO: "/nonexistent.iso"}.checkBoot(), "ISO")
	assert.ErrorContains(t, Options{ISO: "x.iso", Initrd: "rd"}.checkBoot(), "grub.cfg")
	assert.ErrorContains(t, Options{Image: "status_test.go", Initrd: "/nonexistent.cpio"}.checkBoot(), "initrd")
}

func TestSplitFirmware(t *testing.T) {
	fw, kernel := splitFirmware([]byte("\x1b[2JBdsDxe: loading\r\nWelcome to GRUB!\r[gometal] booting\nhi\n"))
	assert.Equal(t, "\x1b[2JBdsDxe: loading\r\nWelcome to GRUB!\r", string(fw))
	assert.Equal(t, "[gometal] booting\nhi\n", string(kernel))

	fw, kernel = splitFirmware([]byte("error: file not found\n"))
	assert.Equal(t, "error: file not found\n", string(fw))
	assert.Empty(t, kernel)
}

func TestQEMUFailed(t *testing.T) {
	assert.False(t, qemuFailed(""))
	assert.False(t, qemuFailed("qemu-system-x86_64: warning: TCG doesn't support requested feature\n"))
	assert.True(t, qemuFailed("qemu: could not load kernel 'x': No such file or directory\n"))
	assert.True(t, qemuFailed("qemu-system-x86_64: warning: w\nqemu-system-x86_64: -m foo: bad size\n"))
}

func TestParseStatusRecord(t *testing.T) {
	tests := []struct {
		log      string
		code     int
		panicked bool
		ok       bool
	}{
		{"", -1, false, false},
		{"[gometal] program exited with status 3 after 1 ms\n", -1, false, false},
		{"[gometal] exit status 3\n", 3, false, true},
		{"[gometal] exit status 0\r\n", 0, false, true},
		{"[gometal] exit status 255", 255, false, true},
		{"[gometal] exit status panic\n", -1, true, true},
		{"[gometal] exit status 1\n[gometal] exit status 2\n", 2, false, true},
		{"[gometal] exit status 256\n", -1, false, false},
		{"[gometal] exit status -1\n", -1, false, false},
		{"[gometal] exit status 07\n", -1, false, false},
		{"[gometal] exit status 3 and more\n", -1, false, false},
	}
	for _, tt := range tests {
		code, panicked, ok := ParseStatusRecord([]byte(tt.log))
		assert.Equal(t, tt.code, code, "%q", tt.log)
		assert.Equal(t, tt.panicked, panicked, "%q", tt.log)
		assert.Equal(t, tt.ok, ok, "%q", tt.log)
	}
}

func TestOptionsArgsMachine(t *testing.T) {
	args := Options{Image: "x.img", Machine: "microvm,acpi=off", NoDebugExit: true, Net: "user"}.Args()
	assert.Equal(t, []string{"-machine", "microvm,acpi=off"}, args[:2])
	assert.NotContains(t, args, DebugExitDevice)
	assert.Contains(t, args, "virtio-net-device,netdev=net0")
	assert.Equal(t, MachineMicrovm, Options{Machine: "microvm,acpi=off"}.MachineType())
	assert.Equal(t, MachineQ35, Options{}.MachineType())

	args = Options{Image: "x.img", Machine: "pc"}.Args()
	assert.Equal(t, []string{"-machine", "pc"}, args[:2])
	assert.Contains(t, args, DebugExitDevice)

	assert.ErrorContains(t, Options{ISO: "x.iso", Machine: "microvm"}.checkBoot(), "microvm")
}
