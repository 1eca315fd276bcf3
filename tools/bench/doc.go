// Package bench runs the benchmarks of `make bench`: the same Go program
// (bench/workload) booted as a gometal image and as /init of a Linux
// initramfs, in the same QEMU machine with the same -smp, -m and devices,
// and prints, for every metric, both medians over repeats, their spread and
// the ratio gometal/Linux.
//
// The pieces, one mechanism per file:
//
//	debian.go     fetch Debian's kernel (apt-get download + dpkg-deb -x) into a cache
//	modules.go    take the virtio-net modules and what they need out of the kernel's package
//	kmod/         modules.dep and .modinfo dependencies, load order (bench/netinit loads with u-root's kmodule)
//	initramfs.go  write the Linux initramfs (u-root's pkg/cpio): /init, /dev/console, /dev/port;
//	              for the network rows also /server and lib/modules
//	build.go      build the workload, and the HTTP server of the network rows, for both sides
//	side.go       how one side turns a boot into QEMU options
//	guest.go      boot one guest, timestamp the main marker, parse its report
//	result.go     parse the workload's BENCH lines
//	catalog.go    the metrics: names, units, which is better, bounds (issue 8's slice + 1 ms)
//	plan.go       which boots a repeat makes and what each yields
//	config.go     what a run measures, with defaults
//	runner.go     run the plan on both sides, one guest at a time
//	netbench.go   boot the HTTP server with a forwarded port, drive it, stop it
//	loadgen.go    the host's HTTP load generator: keep-alive connections, latencies, bulk GETs
//	record.go     turn one guest's outcome into samples or n/a reasons
//	samples.go    the samples and n/a reasons per side and metric
//	minmem.go     bisect the smallest -m that boots hello world
//	table.go      turn samples into rows: medians, spreads, ratios, n/a reasons; judge bounds
//	meta.go       the date, host, QEMU and Go versions of a run
//	markdown.go, csv.go, svg.go, results.go   write the table and the chart of ratios
//
// The network rows boot another program, examples/httpd, on both sides
// with a virtio-net NIC on QEMU's user network and a host port forwarded
// to its port 80; the Linux side's /init (bench/netinit) first loads
// Debian's virtio-net modules and configures eth0.
//
// Every step boots QEMU's q35 machine but boot@microvm, which measures the
// boot rows again on microvm (docs/microvm.md) beside boot@q35's; a side
// that is known to fail on a machine says why in its n/a reason
// (Side.MachineHints).
//
// A metric one side cannot give is "n/a" with the reason (a guest that
// timed out, a guest that saw fewer CPUs than it was given, a server that
// never answered), never a number.
package bench
