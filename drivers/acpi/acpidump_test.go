package acpi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dumpedTable is one table of an acpidump text file.
type dumpedTable struct {
	Sig  string
	Addr uint64
	Data []byte
}

// readAcpidump parses the text format of ACPICA's acpidump (see dump.go
// and testdata/README): a "SIGN @ 0xADDRESS" line per table, then lines
// "OFFSET: HH HH ... ASCII" of up to 16 bytes each. Blank lines are
// ignored; anything else is an error, as is an offset out of sequence or a
// table whose length field disagrees with its bytes.
func readAcpidump(r io.Reader) ([]dumpedTable, error) {
	var tables []dumpedTable
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch {
		case line == "":
		case len(line) > 9 && line[4:9] == " @ 0x" && !strings.HasPrefix(line, " "):
			addr, err := strconv.ParseUint(line[9:], 16, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: address: %v", n, err)
			}
			tables = append(tables, dumpedTable{Sig: line[:4], Addr: addr})
		default:
			off, data, err := parseDumpLine(line)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			if len(tables) == 0 {
				return nil, fmt.Errorf("line %d: data before the first table", n)
			}
			t := &tables[len(tables)-1]
			if off != len(t.Data) {
				return nil, fmt.Errorf("line %d: offset %#x, want %#x", n, off, len(t.Data))
			}
			t.Data = append(t.Data, data...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, t := range tables {
		if err := t.check(); err != nil {
			return nil, err
		}
	}
	return tables, nil
}

// parseDumpLine parses "    0010: 41 50 ...  AP..".
func parseDumpLine(line string) (int, []byte, error) {
	colon := strings.Index(line, ": ")
	if colon < 0 || strings.TrimLeft(line[:colon], " ") == "" {
		return 0, nil, fmt.Errorf("not a table header or data line: %q", line)
	}
	off, err := strconv.ParseUint(strings.TrimLeft(line[:colon], " "), 16, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("offset: %v", err)
	}
	rest := line[colon+2:]
	var data []byte
	for len(data) < 16 && len(rest) >= 2 {
		v, err := strconv.ParseUint(rest[:2], 16, 8)
		if err != nil || (len(rest) > 2 && rest[2] != ' ') {
			break
		}
		data = append(data, byte(v))
		rest = rest[min(3, len(rest)):]
	}
	if len(data) == 0 {
		return 0, nil, fmt.Errorf("no bytes in %q", line)
	}
	return int(off), data, nil
}

// check verifies that t's length field, if it has one, covers its bytes.
func (t dumpedTable) check() error {
	switch {
	case t.Sig == "RSDP":
		if len(t.Data) != 20 && len(t.Data) < 36 {
			return fmt.Errorf("RSDP @ %#x: %d bytes", t.Addr, len(t.Data))
		}
	case len(t.Data) < 8:
		return fmt.Errorf("%s @ %#x: %d bytes", t.Sig, t.Addr, len(t.Data))
	case binary.LittleEndian.Uint32(t.Data[4:]) != uint32(len(t.Data)):
		return fmt.Errorf("%s @ %#x: length field %d, %d bytes dumped", t.Sig, t.Addr, binary.LittleEndian.Uint32(t.Data[4:]), len(t.Data))
	}
	return nil
}

// writeAcpidump formats tables with DumpHeader and DumpLine.
func writeAcpidump(w io.Writer, tables []dumpedTable) {
	var hb [DumpHeaderLen]byte
	var lb [DumpLineLen]byte
	for _, t := range tables {
		var sig [4]byte
		copy(sig[:], t.Sig)
		fmt.Fprintf(w, "%s\n", DumpHeader(&hb, sig, t.Addr))
		for off := 0; off < len(t.Data); off += 16 {
			fmt.Fprintf(w, "%s\n", DumpLine(&lb, t.Data, off))
		}
		fmt.Fprintln(w)
	}
}

func TestDumpLines(t *testing.T) {
	var hb [DumpHeaderLen]byte
	assert.Equal(t, "APIC @ 0x0000000007FE18D2", string(DumpHeader(&hb, [4]byte{'A', 'P', 'I', 'C'}, 0x7fe18d2)))
	assert.Equal(t, "RSDP @ 0xFEDCBA9876543210", string(DumpHeader(&hb, [4]byte{'R', 'S', 'D', 'P'}, 0xfedcba9876543210)))

	var lb [DumpLineLen]byte
	tbl := []byte("APICx\x00\x00\x00\x01\xcfBOCHS BXPC    \x01\x00\x00\x00")
	assert.Equal(t, "    0000: 41 50 49 43 78 00 00 00 01 CF 42 4F 43 48 53 20  APICx.....BOCHS ", string(DumpLine(&lb, tbl, 0)))
	assert.Equal(t, "    0010: 42 58 50 43 20 20 20 20 01 00 00 00              BXPC    ....", string(DumpLine(&lb, tbl, 16)))
	assert.Nil(t, DumpLine(&lb, tbl, 32))
	assert.Nil(t, DumpLine(&lb, tbl, -16))

	big := make([]byte, 0x10010)
	big[0x10000] = 0x7f
	assert.Equal(t, "   10000: 7F 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................", string(DumpLine(&lb, big, 0x10000)))
	assert.Equal(t, "    FFF0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................", string(DumpLine(&lb, big, 0xfff0)))
}

// TestDumpRoundTrip dumps a built table set with the package's helpers,
// reads it back with the capture loader, rebuilds memory from it and
// checks that Parse sees the same tables: the format the kernel prints is
// the format the capture test reads.
func TestDumpRoundTrip(t *testing.T) {
	s := modernSet()
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))

	var dumped []dumpedTable
	for _, r := range out.Seen[:out.NSeen] {
		dumped = append(dumped, dumpedTable{string(r.Signature[:]), r.Addr, r.Bytes(s.im.mem, 0)})
	}
	var text bytes.Buffer
	writeAcpidump(&text, dumped)
	back, err := readAcpidump(&text)
	require.NoError(t, err)
	require.Equal(t, dumped, back)

	mem := make([]byte, len(s.im.mem))
	for _, d := range back {
		copy(mem[d.Addr:], d.Data)
	}
	var again Tables
	require.Equal(t, OK, Parse(mem, 0, s.rsdp, &again))
	assert.Equal(t, out, again)
	assert.Equal(t, 1, again.Skipped, "the WAET with a bad checksum went along")
}

func TestReadAcpidumpErrors(t *testing.T) {
	for name, text := range map[string]string{
		"data first":       "    0000: 41 50\n",
		"gap":              "FACP @ 0x0000000000001000\n    0000: 46 41 43 50 14 00 00 00 00 00 00 00 00 00 00 00  FACP............\n    0020: 00 00 00 00\n",
		"short table":      "FACP @ 0x0000000000001000\n    0000: 46 41 43 50 14 00 00 00 00 00 00 00 00 00 00 00  FACP............\n",
		"garbage line":     "hello\n",
		"bad address":      "FACP @ 0xZZ\n",
		"no bytes on line": "FACP @ 0x0000000000001000\n    0000: \n",
	} {
		_, err := readAcpidump(strings.NewReader(text))
		assert.Error(t, err, name)
	}
	tables, err := readAcpidump(strings.NewReader("\nRSDP @ 0x00000000000F5A40\n" +
		"    0000: 52 53 44 20 50 54 52 20 79 42 4F 43 48 53 20 00  RSD PTR yBOCHS .\n" +
		"    0010: 4E 1A FE 07                                      N...\n\n"))
	require.NoError(t, err)
	assert.Equal(t, []dumpedTable{{"RSDP", 0xf5a40, []byte("RSD PTR yBOCHS \x00\x4e\x1a\xfe\x07")}}, tables)
}
