package qemu

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A run that reaches its time limit does not just vanish: the runner asks
// the kernel where it is. QEMU gets a QMP socket, the kernel the option
// unknown_nmi_panic (as on Linux, an NMI nobody asked for ends in a
// kernel panic report); when the time is up the runner injects an NMI
// and gives the guest stallGrace to print its report (where each CPU was
// stopped, who holds the kernel lock, every thread's state, wait and
// user rip) before it kills QEMU. The timeout error then carries the
// report.

// stallGrace is how long the guest has to print its stall report.
const stallGrace = 5 * time.Second

// stallRequest is a run's means of asking for a stall report; the zero
// value asks for none.
type stallRequest struct {
	dir, sock string
}

// stallReport prepares the QMP socket for o, unless o has no time limit,
// boots an ISO (whose kernel command line is in its grub.cfg) or sets
// NoStallReport.
func (o Options) stallReport() (stallRequest, error) {
	if o.Timeout <= 0 || o.ISO != "" || o.NoStallReport {
		return stallRequest{}, nil
	}
	dir, err := os.MkdirTemp("", "gometal-qmp")
	if err != nil {
		return stallRequest{}, err
	}
	return stallRequest{dir: dir, sock: filepath.Join(dir, "qmp")}, nil
}

// options returns o with the QMP socket and the kernel option added.
func (s stallRequest) options(o Options) Options {
	if s.sock == "" {
		return o
	}
	o.Append = strings.TrimSpace(stallOption + " " + o.Append) // before any "--"
	o.Extra = append(append([]string(nil), o.Extra...), "-qmp", "unix:"+s.sock+",server=on,wait=off")
	return o
}

// stallOption is the kernel option that turns an NMI into a report.
const stallOption = "unknown_nmi_panic"

// request injects the NMI and waits until QEMU has exited (exited is
// closed) or stallGrace has passed.
func (s stallRequest) request(exited <-chan struct{}) {
	if s.sock == "" || QMPCommand(s.sock, `{"execute":"inject-nmi"}`) != nil {
		return
	}
	select {
	case <-exited:
	case <-time.After(stallGrace):
	}
}

// remove deletes the socket's directory.
func (s stallRequest) remove() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// BeforeReport returns the console up to the first kernel panic report
// (the part a stall report's reader wants before the report).
func BeforeReport(console []byte) []byte {
	if i := bytes.Index(console, []byte(PanicBegin)); i >= 0 {
		return console[:i]
	}
	return console
}
