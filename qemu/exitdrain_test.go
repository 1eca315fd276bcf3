package qemu_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Nothing lost at exit: qemu/testdata/replyexit writes its reply and exits
// at once (os.Exit right after the write, or after net/http's Shutdown);
// the host must receive every byte, as from a Linux process, at 1 and 2
// CPUs (GOMAXPROCS follows). The measure is 100 runs per CPU count
// with none lost: GOMETAL_EXITDRAIN_RUNS=100 makes this test that run
// (docs/networking.md records its result). By default it boots 4 guests
// per CPU count (2 of each kind), two at a time, so make test stays within
// its 8 minutes; before the exit hook every such run lost its reply.

const exitDrainRunsEnv = "GOMETAL_EXITDRAIN_RUNS"

// replyExitImage builds qemu/testdata/replyexit once.
var replyExitImage = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gometal-replyexit-")
	if err != nil {
		return "", err
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	img := filepath.Join(dir, "replyexit.img")
	var stderr bytes.Buffer
	if _, err := image.Build(context.Background(), image.BuildOptions{Pkg: "./qemu/testdata/replyexit", Out: img, Dir: root, Stderr: &stderr}); err != nil {
		return "", fmt.Errorf("%w: %s", err, stderr.Bytes())
	}
	return img, nil
})

// replySize is the reply's length: more than the guest's socket buffers
// and TCP windows hold at once, so part of it is still in the kernel or in
// the stack when the program exits.
const replySize = 300 << 10

func TestExitDrain(t *testing.T) {
	img, err := replyExitImage()
	require.NoError(t, err)
	runs := 4
	if v := os.Getenv(exitDrainRunsEnv); v != "" {
		runs, err = strconv.Atoi(v)
		require.NoError(t, err, exitDrainRunsEnv)
	}
	guests := make(chan struct{}, maxGuests)
	for _, smp := range []int{1, 2} {
		t.Run(fmt.Sprintf("smp%d", smp), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			lost := 0
			var wg sync.WaitGroup
			for i := range runs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					guests <- struct{}{}
					defer func() { <-guests }()
					err := replyExitRun(t, img, smp, i%2 == 1)
					if err != nil {
						mu.Lock()
						lost++
						mu.Unlock()
						t.Errorf("run %d (shutdown %v): %v", i, i%2 == 1, err)
					}
				}()
			}
			wg.Wait()
			t.Logf("%d CPUs: %d of %d replies lost", smp, lost, runs)
			assert.Zero(t, lost)
		})
	}
}

// replyExitRun boots the guest, asks for a reply once it listens and
// checks the reply byte for byte and the guest's exit status.
func replyExitRun(t *testing.T, img string, smp int, shutdown bool) error {
	port := freePort(t)
	w := &lineWatcher{want: "replyexit: listening", seen: make(chan struct{})}
	var res *qemu.Result
	var runErr error
	done := make(chan struct{})
	o := qemu.Options{
		Image: img, SMP: smp, Net: fmt.Sprintf("user,hostfwd=tcp:127.0.0.1:%d-:80", port),
		Timeout: 120 * time.Second, Console: w,
	}
	if shutdown {
		o.ProgramArgs = []string{"-shutdown"}
	}
	go func() {
		defer close(done)
		res, runErr = qemu.Run(context.Background(), o)
	}()
	select {
	case <-w.seen:
	case <-done:
		return fmt.Errorf("the guest ended before listening: %v", runErr)
	case <-time.After(90 * time.Second):
		<-done
		return fmt.Errorf("the guest did not listen within 90 s")
	}
	token := randomToken(t)
	want := bytes.Repeat([]byte(token), replySize/len(token)+1)[:replySize]
	got, err := askReply(port, token, shutdown)
	<-done
	if runErr != nil {
		return fmt.Errorf("guest: %v", runErr)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("guest exit status %d:\n%s", res.ExitCode, res.Console)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("got %d of %d reply bytes (read error %v); kernel log:\n%s", len(got), len(want), err, res.KernelLog)
	}
	return nil
}

// askReply sends the request and reads the reply until the connection
// ends.
func askReply(port int, token string, shutdown bool) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if shutdown {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://127.0.0.1:%d/%s/%d", port, token, replySize), nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	c, err := qemu.DialForwarded(ctx, &net.Dialer{}, "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(c, "%s %d\n", token, replySize); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}
