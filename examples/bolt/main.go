// Bolt stores and reads back data with bbolt, the embedded key/value
// database that maps its file shared into memory, locks it with flock
// and syncs it with fdatasync. It prints what it reads, so the guest's
// output can be compared with Linux's.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

func main() {
	dir, err := os.MkdirTemp("", "bolt-example-")
	check(err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.db")

	db, err := bolt.Open(path, 0o600, nil)
	check(err)
	check(db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("fruit"))
		if err != nil {
			return err
		}
		for i, name := range []string{"apple", "banana", "cherry", "damson"} {
			if err := b.Put([]byte(name), []byte(fmt.Sprint(i*i))); err != nil {
				return err
			}
		}
		big, err := tx.CreateBucketIfNotExists([]byte("numbers"))
		if err != nil {
			return err
		}
		for i := range 20000 { // enough to grow and remap the file
			if err := big.Put(fmt.Appendf(nil, "key%06d", i), make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	}))

	// A second open of the locked file times out, as on Linux.
	_, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 100 * time.Millisecond})
	fmt.Println("second open while locked:", errors.Is(err, bolt.ErrTimeout))
	check(db.Close())

	db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	check(err)
	check(db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("fruit")).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			fmt.Printf("%s = %s\n", k, v)
		}
		fmt.Println("numbers:", tx.Bucket([]byte("numbers")).Stats().KeyN)
		return nil
	}))
	check(db.Close())
	st, err := os.Stat(path)
	check(err)
	fmt.Println("database file is larger than 1 MiB:", st.Size() > 1<<20)
}

func check(err error) {
	if err != nil {
		fmt.Println("unexpected error:", err)
		os.Exit(1)
	}
}
