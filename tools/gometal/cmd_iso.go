package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/gometal/gometal/tools/iso"
)

func init() {
	commands["iso"] = &command{
		usage: "iso IMAGE -o FILE.iso [--initrd FILE] [--env K=V]... [--append CMDLINE] [-- ARGS...]",
		help: `Iso writes a GRUB hybrid ISO that boots IMAGE through multiboot2 on BIOS
and UEFI machines: burn it, boot it with qemu -cdrom, or dd it to a USB
stick (docs/hardware.md). GRUB shows no menu and waits for nothing.

The arguments after "--" and the --env variables reach the program byte
for byte as with run: they are written into the ISO as a boot module
(/boot/args.bin) GRUB loads after the initrd. --append is the kernel
command line, fixed in the ISO's grub.cfg.

--initrd FILE puts FILE into the ISO and has GRUB load it as a multiboot2
boot module (module2): an initramfs the kernel unpacks, as with run.

Needs grub-mkrescue and GRUB's BIOS and EFI modules, xorriso and mtools
(Debian: make deps-iso).`,
		run: runISO,
	}
}

func runISO(ctx context.Context, std stdio, args []string) (int, error) {
	fs := flag.NewFlagSet("iso", flag.ContinueOnError)
	out := fs.String("o", "", "")
	var env listFlag
	fs.Var(&env, "env", "")
	appendLine := fs.String("append", "", "")
	initrd := fs.String("initrd", "", "")
	pos, progArgs, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, err
	}
	if len(pos) != 1 {
		return exitUsage, usagef("want one IMAGE, got %d arguments", len(pos))
	}
	if *out == "" {
		return exitUsage, usagef("no output file (-o FILE.iso)")
	}
	prog, err := newProgramArgs(env, progArgs)
	if err != nil {
		return exitUsage, err
	}
	if err := checkAppend(*appendLine); err != nil {
		return exitUsage, err
	}
	o := iso.Options{Image: pos[0], Out: *out, Append: *appendLine, Initrd: *initrd, ProgramArgs: prog.args, ProgramEnv: prog.env}
	if err := iso.Build(ctx, o); err != nil {
		return exitFailure, err
	}
	fmt.Fprintf(std.out, "iso: %s\n", *out)
	return exitOK, nil
}
