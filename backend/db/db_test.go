package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestOpenFreshDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "app.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Pragmas are per connection: hold several at once so the pool must
	// open more than one, and check each.
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var mode string
		var fk, sync, busy int
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || sync != 2 || busy != busyTimeoutMS {
			t.Errorf("conn %d: journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d; want wal 1 2(FULL) %d", i, mode, fk, sync, busy, busyTimeoutMS)
		}
		c.Close()
	}

	v, err := userVersion(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Errorf("user_version = %d, want %d", v, SchemaVersion())
	}
	checkMigrationLog(t, db)

	// FTS5 is compiled in (the build tag), so chat search can use it.
	if _, err := db.Exec("CREATE VIRTUAL TABLE temp.probe USING fts5(body)"); err != nil {
		t.Fatalf("fts5: %v", err)
	}
	if _, err := db.Exec("INSERT INTO temp.probe(body) VALUES ('hello local models')"); err != nil {
		t.Fatal(err)
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	for i := range 3 {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		checkMigrationLog(t, db)
		db.Close()
	}
}

// checkMigrationLog checks that every embedded migration was logged once.
func checkMigrationLog(t *testing.T, db *sql.DB) {
	t.Helper()
	var logged int
	if err := db.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&logged); err != nil {
		t.Fatal(err)
	}
	fsys, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if logged != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration)", logged, len(ms))
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE child(p INTEGER REFERENCES parent(id))"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO child(p) VALUES (42)"); err == nil {
		t.Error("inserting a dangling reference succeeded; foreign keys are off")
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	junk := strings.Repeat("this is not an SQLite database\n", 200)
	if err := os.WriteFile(path, []byte(junk), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("opening a text file as a database succeeded")
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("error does not wrap ErrCorrupt: %v", err)
	}
	want := fmt.Sprintf("database %s is corrupt: ", path)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	got, _ := os.ReadFile(path)
	if string(got) != junk {
		t.Error("Open modified the corrupt file")
	}
}

func TestOpenDamagedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX notes_body ON notes(body)"); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if _, err := db.Exec("INSERT INTO notes(body) VALUES (?)", fmt.Sprintf("note %d %s", i, strings.Repeat("x", i%50))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil { // checkpoints the WAL into the main file
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 16*4096 {
		t.Fatalf("database unexpectedly small: %d bytes", len(data))
	}
	// Keep page 1 (the header and schema) intact; scribble over later pages.
	for i := 4 * 4096; i < len(data)-4096; i += 4096 * 3 {
		for j := range 200 {
			data[i+j] = byte(0xA5 ^ j)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err == nil {
		db.Close()
		t.Fatal("opening a damaged database succeeded")
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path+" is corrupt") {
		t.Errorf("error = %v, want a corrupt-database error naming the file", err)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	future := SchemaVersion() + 7
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", future)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path)
	if err == nil {
		db.Close()
		t.Fatal("opening a database from the future succeeded")
	}
	if !errors.Is(err, ErrTooNew) {
		t.Errorf("error does not wrap ErrTooNew: %v", err)
	}
	want := fmt.Sprintf("database %s was written by a newer version (schema %d > %d)", path, future, SchemaVersion())
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{name: "sorted with gaps", files: fstest.MapFS{
			"0004_chat.sql": {Data: []byte("x")}, "0001_base.sql": {Data: []byte("x")}, "0002_lib.sql": {Data: []byte("x")}, "README": {Data: []byte("ignored")},
		}, want: []int{1, 2, 4}},
		{name: "empty", files: fstest.MapFS{}, want: nil},
		{name: "bad name", files: fstest.MapFS{"1_base.sql": {Data: []byte("x")}}, wantErr: "must look like"},
		{name: "upper case", files: fstest.MapFS{"0001_Base.sql": {Data: []byte("x")}}, wantErr: "must look like"},
		{name: "zero", files: fstest.MapFS{"0000_base.sql": {Data: []byte("x")}}, wantErr: "start at 0001"},
		{name: "duplicate", files: fstest.MapFS{"0001_a.sql": {Data: []byte("x")}, "0001_b.sql": {Data: []byte("x")}}, wantErr: "share number 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("versions %v, want %v", got, tt.want)
			}
		})
	}
}

// testMigrations is a three-step schema used to test the migration runner
// independently of the real one.
var testMigrations = fstest.MapFS{
	"0001_a.sql": {Data: []byte("CREATE TABLE a(id INTEGER PRIMARY KEY);")},
	"0002_b.sql": {Data: []byte("CREATE TABLE b(id INTEGER PRIMARY KEY);\nINSERT INTO b(id) VALUES (1), (2);\nCREATE TABLE b2(id INTEGER);")},
	"0003_c.sql": {Data: []byte("CREATE TABLE c(id INTEGER PRIMARY KEY);")},
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name=?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestFailingMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	broken := fstest.MapFS{
		"0001_a.sql": testMigrations["0001_a.sql"],
		"0002_b.sql": {Data: []byte("CREATE TABLE b(id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);")},
	}
	if db, err := open(context.Background(), path, broken, nil); err == nil {
		db.Close()
		t.Fatal("a broken migration succeeded")
	} else if !strings.Contains(err.Error(), "migration 0002_b") {
		t.Errorf("error %q does not name the migration", err)
	}
	db, err := open(context.Background(), path, testMigrations, nil)
	if err != nil {
		t.Fatalf("fixed migrations: %v", err)
	}
	defer db.Close()
	v, _ := userVersion(context.Background(), db)
	if v != 3 || !tableExists(t, db, "a") || !tableExists(t, db, "b2") || !tableExists(t, db, "c") {
		t.Errorf("after fix: user_version=%d, want 3 with tables a, b2, c", v)
	}
}
