package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gometal/gometal/kernel/abi"
)

// ArgCost is what args and env count against abi.MaxArgBytes.
func ArgCost(args, env []string) int {
	n := 0
	for _, s := range args {
		n += len(s) + 1 + 8
	}
	for _, s := range env {
		n += len(s) + 1 + 8
	}
	return n
}

// EncodeArgBlock returns the argument block (with its trailer) for the
// program arguments args (argv[1:]) and the environment env, or an error
// if a string holds a NUL byte or they exceed abi.MaxArgBytes. Host side.
func EncodeArgBlock(args, env []string) ([]byte, error) {
	if err := CheckArgs(args, env); err != nil {
		return nil, err
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(args)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(env)))
	for _, list := range [][]string{args, env} {
		for _, s := range list {
			b = append(append(b, s...), 0)
		}
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(b)))
	return append(b, abi.ArgBlockMagic...), nil
}

// CheckArgs reports why args and env cannot be carried: a NUL byte in a
// string, or more than abi.MaxArgBytes. Host side.
func CheckArgs(args, env []string) error {
	for i, s := range args {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("argument %d (%.40q) contains a NUL byte, which no Linux program can receive", i+1, s)
		}
	}
	for _, s := range env {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("environment variable %.40q contains a NUL byte, which no Linux program can receive", s)
		}
	}
	if n := ArgCost(args, env); n > abi.MaxArgBytes {
		return fmt.Errorf("%w: %d bytes of arguments and environment (each string's bytes, its NUL and its 8-byte pointer), the limit is %d (256 KiB)", ErrArgsTooLong, n, abi.MaxArgBytes)
	}
	return nil
}

// ErrArgsTooLong is the error for arguments and environment over
// abi.MaxArgBytes (Linux's E2BIG).
var ErrArgsTooLong = errors.New("argument list too long")

// argModule writes a temporary file holding the initrd's bytes (if initrd
// is not "") followed by the argument block for args and env, and returns
// its name: QEMU loads one -initrd file as the PVH boot module.
func argModule(initrd string, args, env []string) (name string, err error) {
	blk, err := EncodeArgBlock(args, env)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "gometal-args-*.initrd")
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if initrd != "" {
		in, err := os.Open(initrd)
		if err != nil {
			return "", fmt.Errorf("initrd: %w", err)
		}
		_, err = io.Copy(f, in)
		in.Close()
		if err != nil {
			return "", fmt.Errorf("initrd: %w", err)
		}
	}
	_, err = f.Write(blk)
	return f.Name(), err
}
