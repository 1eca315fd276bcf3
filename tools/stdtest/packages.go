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
	// Runs the hostname program (after exec.LookPath finds none in the
	// guest, it skips).
	{"os", "TestHostname", ReasonSpawn},
	// Runs the test binary under strace (skips when exec.LookPath finds
	// no strace).
	{"net/http", "TestLinuxSendfile", ReasonSpawn},
}

// PackageMem is the guest memory of packages whose tests need more than
// the default: encoding/gob's TestLargeSlice encodes four 20 MB slices at
// once (about 700 MB of peak RSS on the host).
var PackageMem = map[string]string{
	"encoding/gob": "1536M",
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

// goCommandRE matches output that shows a test wanting the go command
// (testenv.MustHaveGoBuild and friends skip when it is missing).
var goCommandRE = regexp.MustCompile(`'go build' unavailable|exec: "go": |cannot find go command|go tool: `)

// spawnRE matches output that shows a test starting another program.
var spawnRE = regexp.MustCompile(`fork/exec |exec: "|os\.StartProcess|exec\(self\) failed|Failed to spawn child`)

// DetectSpawn returns the exclusion reason for a test whose output shows
// that it failed or was skipped because it started (or wanted to start)
// another program, or "".
func DetectSpawn(output string) string {
	switch {
	case goCommandRE.MatchString(output):
		return ReasonGoCommand
	case spawnRE.MatchString(output):
		return ReasonSpawn
	}
	return ""
}
