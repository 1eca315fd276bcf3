package qemu

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
)

// ParseExports collects the files the kernel printed for its export=
// options (docs/protocols.md, "Exported files") from a kernel log: each
// guest path maps to the file's bytes; a path the kernel reported missing
// maps to nil. A record that is cut short or does not decode to the size
// it announced is an error.
func ParseExports(log []byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	var path string
	var size int
	var data []byte
	inFile := false
	for _, line := range bytes.Split(log, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		rest, ok := bytes.CutPrefix(line, []byte(KernelPrefix))
		if !ok {
			continue
		}
		switch word, arg, _ := bytes.Cut(rest, []byte(" ")); string(word) {
		case "export":
			i := bytes.LastIndexByte(arg, ' ')
			if i < 0 {
				return nil, fmt.Errorf("bad export record %q", line)
			}
			n, err := strconv.Atoi(string(arg[i+1:]))
			if err != nil {
				return nil, fmt.Errorf("bad export record %q", line)
			}
			path, size, data, inFile = string(arg[:i]), n, nil, true
		case "export-data":
			if !inFile {
				return nil, fmt.Errorf("export data outside a file: %q", line)
			}
			b, err := base64.StdEncoding.DecodeString(string(arg))
			if err != nil {
				return nil, fmt.Errorf("export of %s: %v", path, err)
			}
			data = append(data, b...)
		case "export-end":
			if !inFile || string(arg) != path {
				return nil, fmt.Errorf("unexpected %q", line)
			}
			if len(data) != size {
				return nil, fmt.Errorf("export of %s: %d bytes arrived, %d announced", path, len(data), size)
			}
			if data == nil {
				data = []byte{}
			}
			files[path], inFile = data, false
		case "export-missing":
			files[string(arg)] = nil
		}
	}
	if inFile {
		return nil, fmt.Errorf("export of %s cut short after %d of %d bytes", path, len(data), size)
	}
	return files, nil
}
