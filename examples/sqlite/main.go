// Sqlite keeps a SQLite database in a file (modernc.org/sqlite, the pure
// Go translation of SQLite): it creates a table, inserts rows in a
// transaction, queries them, closes the database and opens it again. The
// database takes POSIX record locks, seeks, syncs and writes a journal
// beside itself. It prints what it reads, so the guest's output can be
// compared with Linux's.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"
)

func main() {
	dir, err := os.MkdirTemp("", "sqlite-example-")
	check(err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.db")

	db, err := sql.Open("sqlite", path)
	check(err)
	_, err = db.Exec(`CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER)`)
	check(err)
	tx, err := db.Begin()
	check(err)
	for i, title := range []string{"The Go Programming Language", "Operating Systems: Three Easy Pieces", "Lions' Commentary on UNIX"} {
		_, err = tx.Exec(`INSERT INTO books (title, year) VALUES (?, ?)`, title, 1996+i*10)
		check(err)
	}
	check(tx.Commit())
	for i := range 2000 {
		_, err = db.Exec(`INSERT INTO books (title, year) VALUES (?, ?)`, fmt.Sprint("volume ", i), 2000+i%25)
		check(err)
	}
	check(db.Close())

	db, err = sql.Open("sqlite", path)
	check(err)
	rows, err := db.Query(`SELECT id, title, year FROM books WHERE id <= 3 ORDER BY id`)
	check(err)
	for rows.Next() {
		var id, year int
		var title string
		check(rows.Scan(&id, &title, &year))
		fmt.Println(id, title, year)
	}
	check(rows.Err())
	var n, sum int
	check(db.QueryRow(`SELECT count(*), sum(year) FROM books`).Scan(&n, &sum))
	fmt.Println("rows:", n, "sum of years:", sum)
	var mode string
	check(db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	fmt.Println("journal mode:", mode)
	check(db.Close())
	st, err := os.Stat(path)
	check(err)
	fmt.Println("database file exists:", st.Size() > 0)
}

func check(err error) {
	if err != nil {
		fmt.Println("unexpected error:", err)
		os.Exit(1)
	}
}
