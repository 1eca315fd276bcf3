package qemu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"
)

// QMPCommand sends one command (a JSON object such as
// {"execute":"inject-nmi"}) through the QMP socket of a running QEMU and
// waits for its answer: an error reply becomes the error.
func QMPCommand(sock, cmd string) error {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if err := qmpReply(r); err != nil { // the greeting
		return err
	}
	for _, cmd := range []string{`{"execute":"qmp_capabilities"}`, cmd} {
		if _, err := io.WriteString(c, cmd+"\n"); err != nil {
			return err
		}
		if err := qmpReply(r); err != nil {
			return err
		}
	}
	return nil
}

// qmpReply reads QMP messages up to the next one that is not an event.
func qmpReply(r *bufio.Reader) error {
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
