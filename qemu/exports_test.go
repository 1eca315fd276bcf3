package qemu

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportLog renders the kernel's export lines for path holding data, in
// chunks of 108 bytes as the kernel writes them.
func exportLog(path string, data []byte) string {
	var b strings.Builder
	b.WriteString("[gometal] export " + path + " " + itoa(len(data)) + "\r\n")
	for i := 0; i < len(data); i += 108 {
		b.WriteString("[gometal] export-data " + base64.StdEncoding.EncodeToString(data[i:min(i+108, len(data))]) + "\r\n")
	}
	b.WriteString("[gometal] export-end " + path + "\r\n")
	return b.String()
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

func TestParseExports(t *testing.T) {
	big := []byte(strings.Repeat("profile bytes\x00\xff", 40))
	log := "[gometal] program exited with status 0\n" + exportLog("/tmp/cover.out", []byte("mode: set\n")) +
		exportLog("/tmp/with space/big", big) + exportLog("/tmp/empty", nil) + "[gometal] export-missing /tmp/none\n[gometal] exit status 0\n"
	files, err := ParseExports([]byte(log))
	require.NoError(t, err)
	assert.Equal(t, []byte("mode: set\n"), files["/tmp/cover.out"])
	assert.Equal(t, big, files["/tmp/with space/big"])
	assert.Equal(t, []byte{}, files["/tmp/empty"])
	v, ok := files["/tmp/none"]
	assert.True(t, ok)
	assert.Nil(t, v)
	assert.Len(t, files, 4)
}

func TestParseExportsErrors(t *testing.T) {
	whole := exportLog("/f", []byte("0123456789"))
	for name, log := range map[string]string{
		"cut short":     strings.Split(whole, "[gometal] export-end")[0],
		"wrong size":    strings.Replace(whole, " 10\r\n", " 11\r\n", 1),
		"bad base64":    strings.Replace(whole, "export-data ", "export-data !!", 1),
		"data outside":  "[gometal] export-data AAAA\n",
		"end elsewhere": strings.Replace(whole, "export-end /f", "export-end /g", 1),
		"no size":       "[gometal] export /f\n",
	} {
		_, err := ParseExports([]byte(log))
		assert.Error(t, err, name)
	}
}
