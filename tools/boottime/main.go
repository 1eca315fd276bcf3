// Command boottime boots gometal images under QEMU and prints the
// kernel's own boot times: "kernel ready after" (kernel entry to starting
// the program) and "main.main reached" (kernel entry to the program's
// main), for each boot and as the median and range per image and vCPU
// count, with the kernel's clock: line. By default QEMU runs under
// -icount shift=1,sleep=off: the guest's time then comes from its
// instruction count, so the numbers are the guest's work, the same on a
// busy host as on a quiet one (docs/performance.md); -icount=false gives
// wall-clock boots instead. At more than one vCPU under icount QEMU runs
// the vCPUs one at a time, which real boots do not.
//
// Usage:
//
//	go run ./tools/boottime [-n 3] [-smp 1,4] [-machine q35] [-bios seabios] [-icount=false] IMAGE...
//
// Build the images first (go run ./tools/gometal build ./examples/hello
// -o IMAGE); naming two (before and after a change) boots them in turn.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, qemu.Run))
}

// config is the command line.
type config struct {
	images  []string
	smps    []int
	n       int
	machine string
	bios    string // qemu.Options.BIOS
	icount  bool
	timeout time.Duration
}

// parseArgs reads the command line.
func parseArgs(args []string, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("boottime", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c config
	smp := fs.String("smp", "1", "vCPU counts, comma-separated (1,4)")
	fs.IntVar(&c.n, "n", 3, "boots per image and vCPU count")
	fs.StringVar(&c.machine, "machine", qemu.DefaultMachine, "QEMU machine, with properties (q35,hpet=off)")
	fs.StringVar(&c.bios, "bios", "", "firmware: seabios, or a file for -bios (default: qemu.Options', qboot on q35 and pc)")
	fs.BoolVar(&c.icount, "icount", true, "run QEMU under -icount shift=1,sleep=off (guest time from the instruction count)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "limit for each boot")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.images = fs.Args()
	if len(c.images) == 0 {
		return c, fmt.Errorf("no image named (go run ./tools/boottime [flags] IMAGE...)")
	}
	if c.n < 1 {
		return c, fmt.Errorf("-n %d: at least one boot", c.n)
	}
	for _, f := range strings.Split(*smp, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return c, fmt.Errorf("-smp %q: want vCPU counts like 1,4", *smp)
		}
		c.smps = append(c.smps, v)
	}
	return c, nil
}

// options returns the QEMU options of one boot of image at smp vCPUs.
func (c config) options(image string, smp int) qemu.Options {
	o := qemu.Options{Image: image, SMP: smp, Machine: c.machine, BIOS: c.bios, Timeout: c.timeout}
	if c.icount {
		o.Extra = []string{"-icount", "shift=1,sleep=off"}
	}
	return o
}

// runFunc boots QEMU: qemu.Run, or a fake in the tests.
type runFunc func(context.Context, qemu.Options) (*qemu.Result, error)

// run boots every image c.n times at each vCPU count, the images in turn
// (before and after alternate), prints each boot and then the summary;
// it returns the exit status: 1 when a boot failed or lacked a time.
func run(ctx context.Context, args []string, out, errOut io.Writer, boot runFunc) int {
	c, err := parseArgs(args, errOut)
	if err != nil {
		fmt.Fprintln(errOut, "boottime:", err)
		return 2
	}
	fmt.Fprintf(out, "machine %s, icount %v, %d boots per cell\n", c.machine, c.icount, c.n)
	samples := map[cell][]Times{}
	status := 0
	for _, smp := range c.smps {
		for i := 0; i < c.n; i++ {
			for _, img := range c.images {
				t, err := bootOnce(ctx, boot, c.options(img, smp))
				if err != nil {
					fmt.Fprintf(errOut, "boottime: %s at %d vCPUs: %v\n", img, smp, err)
					status = 1
					continue
				}
				clock := t.Clock
				if clock == "" {
					clock = "no clock: line"
				}
				fmt.Fprintf(out, "%s smp=%d: ready %s, main %s | %s\n", img, smp, msString(t.Ready), msString(t.Main), clock)
				k := cell{img, smp}
				samples[k] = append(samples[k], t)
			}
		}
	}
	fmt.Fprintln(out, "median (min-max):")
	for _, smp := range c.smps {
		for _, img := range c.images {
			fmt.Fprintln(out, summarize(img, smp, samples[cell{img, smp}]))
		}
	}
	return status
}

// cell is one image at one vCPU count.
type cell struct {
	image string
	smp   int
}

// bootOnce boots once and reads the times from the kernel log.
func bootOnce(ctx context.Context, boot runFunc, o qemu.Options) (Times, error) {
	res, err := boot(ctx, o)
	if err != nil {
		return Times{}, err
	}
	return ParseTimes(res.KernelLog)
}
