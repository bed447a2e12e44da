//go:build unix

package db

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// killChildEnv tells a re-executed test binary to act as the process that
// dies mid-migration.
const killChildEnv = "IR_DB_KILL_CHILD"

// TestKillDuringMigration kills a process (SIGKILL, no cleanup) after
// migration 2's statements ran but before its commit, then checks that the
// database is still at version 1 with none of migration 2 visible, and that
// the next open completes the schema.
func TestKillDuringMigration(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		_, err := open(context.Background(), path, testMigrations, func(v int) {
			if v == 2 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // wait for the signal to land
			}
		})
		t.Fatalf("child survived the migration: %v", err)
	}

	path := filepath.Join(t.TempDir(), "app.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringMigration$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}

	// Look at the raw file first, without migrating.
	raw, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := userVersion(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if v != 1 || !tableExists(t, raw, "a") || tableExists(t, raw, "b") || tableExists(t, raw, "b2") {
		t.Errorf("after the kill: user_version=%d a=%v b=%v b2=%v; want 1, only table a",
			v, tableExists(t, raw, "a"), tableExists(t, raw, "b"), tableExists(t, raw, "b2"))
	}
	raw.Close()

	db, err := open(context.Background(), path, testMigrations, nil)
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer db.Close()
	v, _ = userVersion(context.Background(), db)
	var rows int
	if err := db.QueryRow("SELECT count(*) FROM b").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if v != 3 || rows != 2 || !tableExists(t, db, "c") {
		t.Errorf("after reopen: user_version=%d rows in b=%d; want 3 and 2", v, rows)
	}
}

// openRaw opens the file with the same settings but no checks or migrations.
func openRaw(path string) (*sql.DB, error) {
	return sql.Open("sqlite3", dsn(path))
}
