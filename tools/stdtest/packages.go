package stdtest

import (
	"regexp"
)

// Packages is the list of standard-library packages whose tests run, in
// the order of the report: small and quick ones first, so that a partial
// run still covers much of the list.
var Packages = []string{
	"errors",
	"unicode/utf8",
	"container/list",
	"sort",
	"strconv",
	"strings",
	"bytes",
	"bufio",
	"path",
	"hash/crc32",
	"encoding/hex",
	"encoding/base64",
	"encoding/binary",
	"encoding/csv",
	"encoding/pem",
	"text/tabwriter",
	"sync/atomic",
	"sync",
	"io",
	"io/fs",
	"io/ioutil",
	"fmt",
	"regexp",
	"crypto/md5",
	"crypto/sha1",
	"crypto/sha256",
	"crypto/sha512",
	"crypto/hmac",
	"crypto/aes",
	"crypto/cipher",
	"compress/flate",
	"compress/gzip",
	"compress/zlib",
	"compress/bzip2",
	"compress/lzw",
	"archive/tar",
	"archive/zip",
	"encoding/json",
	"encoding/xml",
	"encoding/gob",
	"text/template",
	"mime",
	"mime/multipart",
	"net/url",
	"net/netip",
	"net/textproto",
	"path/filepath",
	"os",
	"time",
	"math",
	"math/big",
	"net",
	"net/http",
}

// Exclusion leaves out of the comparison the tests of Package whose
// top-level name matches Test (a regular expression, anchored), for
// Reason: they start another program, which a single-image machine
// cannot, or they need a kernel feature that is known to be missing.
type Exclusion struct {
	Package string
	Test    string
	Reason  string
}

// The reasons of the exclusions.
const (
	// ReasonSpawn is a test that runs another program.
	ReasonSpawn = "starts another program (os/exec, os.StartProcess, fork/exec of os.Executable)"
	// ReasonGoCommand is a test that runs the go command or the compiler.
	ReasonGoCommand = "runs the go command (go build, go run, go vet, go tool)"
)

// Exclusions is the table of excluded tests. Failures whose output shows
// a spawn (DetectSpawn) are excluded as well and listed as detected.
var Exclusions = []Exclusion{
	// Runs its own binary as a child (exec.Command(os.Args[0])) and looks
	// for the child's panic message; in the guest the exec fails and the
	// message is missing.
	{"sync", "TestIssue76126", ReasonSpawn},
}

// Matches reports whether e excludes the top-level test name of pkg.
func (e Exclusion) Matches(pkg, name string) bool {
	if e.Package != pkg {
		return false
	}
	ok, err := regexp.MatchString("^(?:"+e.Test+")$", name)
	return err == nil && ok
}

// Excluded returns the reason why the test name of pkg is excluded by
// table, or "".
func Excluded(table []Exclusion, pkg, name string) string {
	for _, e := range table {
		if e.Matches(pkg, name) {
			return e.Reason
		}
	}
	return ""
}

// spawnRE matches output that shows a test starting another program.
var spawnRE = regexp.MustCompile(`fork/exec|exec: |os.StartProcess|testenv\.MustHaveExec|cannot run (the )?go command|'go build' unavailable|go tool: `)

// DetectSpawn reports whether a test's output shows that it failed or
// was skipped because it started (or wanted to start) another program.
func DetectSpawn(output string) bool {
	return spawnRE.MatchString(output)
}
