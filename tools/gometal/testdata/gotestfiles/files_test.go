package gotestfiles

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/greeting.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := Shout(string(b)); got != "HELLO FROM TESTDATA\n" {
		t.Fatalf("Shout = %q", got)
	}
}

func TestTempDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

func ExampleShout() {
	fmt.Println(Shout("example"))
	// Output: EXAMPLE
}
