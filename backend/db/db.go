// Package db opens the application's SQLite database and brings its schema
// up to date.
//
// The database runs in WAL mode with foreign keys enforced and
// synchronous=FULL, so a committed transaction survives a crash or power
// loss. The schema is a sequence of embedded migrations, files named
// migrations/NNNN_name.sql, applied in order, each in its own transaction
// together with the PRAGMA user_version that records it. A process killed
// mid-migration therefore leaves the database at the previous version, and
// the next Open finishes the job.
//
// The package must be built with the go-sqlite3 build tag sqlite_fts5
// (chat history uses FTS5); Open fails with a clear error otherwise.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// ErrCorrupt marks a file that is not a usable SQLite database.
var ErrCorrupt = errors.New("database is corrupt")

// ErrTooNew marks a database whose schema comes from a newer release.
var ErrTooNew = errors.New("database is from a newer version")

// busyTimeoutMS is how long a connection waits for another writer (for
// example the desktop app and ir at the same time) before giving up.
const busyTimeoutMS = 10000

// Open opens (creating if needed) the SQLite database at path, checks it,
// and applies any pending migrations. Errors wrap ErrCorrupt or ErrTooNew
// where those apply, and always name the file.
func Open(path string) (*sql.DB, error) {
	fsys, err := embedded()
	if err != nil {
		return nil, err
	}
	return open(context.Background(), path, fsys, nil)
}

// SchemaVersion is the schema version this build creates: the number of the
// newest embedded migration.
func SchemaVersion() int {
	fsys, err := embedded()
	if err != nil {
		return 0
	}
	ms, err := loadMigrations(fsys)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// open is Open with the migration set and a hook called after each
// migration's statements ran but before it commits (for crash tests).
func open(ctx context.Context, path string, migrations fs.FS, beforeCommit func(version int)) (*sql.DB, error) {
	ms, err := loadMigrations(migrations)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("database %s: %w", abs, err)
	}
	db, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", abs, err)
	}
	if err := check(ctx, db, abs); err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, db, abs, ms, beforeCommit); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dsn builds a go-sqlite3 URI whose parameters apply to every pooled
// connection. _txlock=immediate makes every transaction take the write lock
// up front, which turns writer-writer conflicts into a wait (busy_timeout)
// instead of a deadlock error halfway through.
func dsn(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:///C:/...
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// check verifies that the file is a healthy SQLite database and that this
// build of SQLite has what the schema needs.
func check(ctx context.Context, db *sql.DB, abs string) error {
	// The first connection reads the header and switches to WAL: a file that
	// is not a database fails here.
	if err := db.PingContext(ctx); err != nil {
		return classify(abs, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return classify(abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("database %s: journal mode is %q, want wal", abs, mode)
	}
	// quick_check reads every page; for an application database of a few
	// megabytes that costs milliseconds and catches damage before use.
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return classify(abs, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return classify(abs, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(abs, err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "...")
		}
		return &kindError{
			msg:  fmt.Sprintf("database %s is corrupt: %s", abs, strings.Join(problems, "; ")),
			kind: ErrCorrupt,
		}
	}
	var fts5 bool
	if err := db.QueryRowContext(ctx, "SELECT sqlite_compileoption_used('ENABLE_FTS5')").Scan(&fts5); err != nil {
		return fmt.Errorf("database %s: %w", abs, err)
	}
	if !fts5 {
		return fmt.Errorf("database %s: this binary's SQLite lacks FTS5; build with -tags sqlite_fts5", abs)
	}
	return nil
}

// classify turns SQLite's corruption codes into ErrCorrupt with a message
// that names the file.
func classify(abs string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return &kindError{msg: fmt.Sprintf("database %s is corrupt: %v", abs, err), kind: ErrCorrupt, cause: err}
	}
	return fmt.Errorf("database %s: %w", abs, err)
}

// kindError carries a complete message plus the sentinel (ErrCorrupt,
// ErrTooNew) and underlying cause that errors.Is/As should find, without
// repeating the sentinel's text in the message.
type kindError struct {
	msg   string
	kind  error
	cause error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}
