// Package uart drives a 16550-compatible serial port by polling its
// transmitter (the console must work before interrupts are set up).
package uart

import "github.com/gometal/gometal/kernel/cpu"

// Registers, as offsets from the port's base.
const (
	regData    = 0 // THR (write) / RBR (read); divisor low byte when DLAB=1
	regIER     = 1 // interrupt enable; divisor high byte when DLAB=1
	regLCR     = 3 // line control
	regMCR     = 4 // modem control
	regLSR     = 5 // line status
	lcrDLAB    = 0x80
	lcr8N1     = 0x03
	mcrDTRRTS  = 0x0b // DTR, RTS, OUT2
	lsrTxEmpty = 0x20 // THR empty
	lsrRxReady = 0x01
	ierRxReady = 0x01
)

// Config describes a port.
type Config struct {
	Base uint16 // I/O port base, e.g. 0x3f8 for COM1
	Baud uint32 // 115200 if zero
}

// Port is an initialised serial port.
type Port struct {
	base uint16
}

// COM1 is the standard first serial port at 0x3f8.
const COM1 = 0x3f8

// Init programs the port for Baud 8N1 with FIFOs on and interrupts off.
// Context: any; does not allocate.
func (p *Port) Init(c Config) bool {
	baud := c.Baud
	if baud == 0 {
		baud = 115200
	}
	if c.Base == 0 || baud > 115200 || 115200%baud != 0 {
		return false
	}
	div := uint16(115200 / baud)
	p.base = c.Base
	cpu.Outb(p.base+regIER, 0)
	cpu.Outb(p.base+regLCR, lcrDLAB)
	cpu.Outb(p.base+regData, uint8(div))
	cpu.Outb(p.base+regIER, uint8(div>>8))
	cpu.Outb(p.base+regLCR, lcr8N1)
	// The FIFOs stay off: turning them on flushes what was received
	// already (input piped before the kernel started), and in QEMU a byte
	// can arrive at any moment before that write.
	cpu.Outb(p.base+regMCR, mcrDTRRTS)
	return true
}

// WriteByte sends one byte, waiting for the transmitter.
// Context: any; does not allocate.
func (p *Port) WriteByte(b byte) error {
	for cpu.Inb(p.base+regLSR)&lsrTxEmpty == 0 {
		cpu.Pause()
	}
	cpu.Outb(p.base+regData, b)
	return nil
}

// Write sends b, translating nothing. Context: any; does not allocate.
func (p *Port) Write(b []byte) (int, error) {
	for _, c := range b {
		p.WriteByte(c)
	}
	return len(b), nil
}

// EnableRxInterrupt makes the port interrupt when a byte arrives (OUT2,
// set by Init, gates the interrupt line to the interrupt controller).
// Context: boot; does not allocate.
func (p *Port) EnableRxInterrupt() {
	cpu.Outb(p.base+regIER, ierRxReady)
}

// Pending reports whether a received byte waits to be read.
// Context: trap or boot; does not allocate.
func (p *Port) Pending() bool { return cpu.Inb(p.base+regLSR)&lsrRxReady != 0 }

// TryReadByte returns a received byte if one is waiting.
// Context: trap (the console interrupt) or boot; does not allocate.
func (p *Port) TryReadByte() (byte, bool) {
	if cpu.Inb(p.base+regLSR)&lsrRxReady == 0 {
		return 0, false
	}
	return cpu.Inb(p.base + regData), true
}
