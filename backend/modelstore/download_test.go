package modelstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"inferenceruntime/backend/db"
	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/library/fixture"
)

// env is a library, a download manager and their database in a temp dir.
type env struct {
	dir string
	db  *sql.DB
	lib *library.Library
	mgr *Manager
	rec *events.Recorder
}

func testOptions() Options {
	return Options{StallTimeout: 5 * time.Second, BackoffBase: 5 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		MaxFailures: 6, MinFree: 1}
}

func newEnv(t *testing.T, dir string, opts Options) *env {
	t.Helper()
	d, err := db.Open(filepath.Join(dir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &events.Recorder{}
	lib, err := library.Open(context.Background(), d, filepath.Join(dir, "models"), rec)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := NewManager(d, lib, rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, db: d, lib: lib, mgr: mgr, rec: rec}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.mgr.Close()
	e.lib.Close()
	e.db.Close()
}

// modelBytes is a valid GGUF file of about n bytes.
func modelBytes(t *testing.T, n int, seed byte) []byte {
	t.Helper()
	w, err := fixture.Writer(n, seed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves one file and misbehaves on purpose: misbehave is asked
// first for every request (numbered from 1) and may answer it itself.
type server struct {
	mu        sync.Mutex
	content   []byte
	modTime   time.Time
	requests  int
	ranges    []string // Range header of every request
	misbehave func(n int, w http.ResponseWriter, r *http.Request, content []byte) bool
	noHash    bool // do not announce the content hash
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	n, content, mod := s.requests, s.content, s.modTime
	misbehave, noHash := s.misbehave, s.noHash
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	if !noHash {
		w.Header().Set("ETag", `"`+sha(content)+`"`)
		w.Header().Set("X-Linked-Etag", `"`+sha(content)+`"`)
	}
	if misbehave != nil && misbehave(n, w, r, content) {
		return
	}
	http.ServeContent(w, r, "model.gguf", mod, bytes.NewReader(content))
}

// behave sets how the server misbehaves (safe while it serves).
func (s *server) behave(f func(n int, w http.ResponseWriter, r *http.Request, content []byte) bool) {
	s.mu.Lock()
	s.misbehave = f
	s.mu.Unlock()
}

func (s *server) setContent(b []byte) {
	s.mu.Lock()
	s.content, s.modTime = b, s.modTime.Add(time.Hour)
	s.mu.Unlock()
}

func (s *server) rangeRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.ranges {
		if r != "" && r != "bytes=0-" {
			n++
		}
	}
	return n
}

func startServer(t *testing.T, content []byte) (*server, string) {
	s := &server{content: content, modTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL + "/org/repo/resolve/main/model-Q8_0.gguf"
}

// startAt parses a request's "bytes=N-" Range (0 if none).
func startAt(r *http.Request) int {
	v, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(v, "-"))
	return n
}

// dropAfter answers with the right headers for the rest of content from
// start, sends k bytes and then breaks the connection.
func dropAfter(w http.ResponseWriter, content []byte, start, k int) {
	if start > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(content)-1, len(content)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(content)-start))
	if start > 0 {
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	w.Write(content[start : start+k])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// pull downloads url as name and waits for the end.
func (e *env) pull(t *testing.T, url, name, want string) (Download, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := e.mgr.Start(ctx, Target{Name: name, URL: url, SHA256: want})
	if err != nil {
		return d, err
	}
	return e.mgr.Wait(ctx, d.ID)
}

// checkModel asserts that exactly one model exists, with the given bytes.
func (e *env) checkModel(t *testing.T, name string, content []byte) {
	t.Helper()
	ms, err := e.lib.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name != name || ms[0].Digest != sha(content) || ms[0].Size != int64(len(content)) {
		t.Fatalf("models = %+v, want one %s with sha %s", ms, name, sha(content))
	}
	got, err := os.ReadFile(ms[0].Path)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("blob content differs (%v)", err)
	}
	e.checkNoPartials(t)
}

// checkNothing asserts that no model was registered and no partial is left.
func (e *env) checkNothing(t *testing.T) {
	t.Helper()
	ms, err := e.lib.List(context.Background())
	if err != nil || len(ms) != 0 {
		t.Fatalf("models = %v, %v; want none", ms, err)
	}
	blobs, _ := os.ReadDir(filepath.Join(e.lib.Dir(), "blobs"))
	if len(blobs) != 0 {
		t.Fatalf("blobs left: %v", blobs)
	}
	e.checkNoPartials(t)
}

func (e *env) checkNoPartials(t *testing.T) {
	t.Helper()
	left, _ := os.ReadDir(e.lib.DownloadsDir())
	if len(left) != 0 {
		t.Fatalf("files left in downloads: %v", left)
	}
}

func TestDownloadMisbehavingServers(t *testing.T) {
	content := modelBytes(t, 300<<10, 1)
	other := modelBytes(t, 300<<10, 2)
	half := len(content) / 2
	type check func(t *testing.T, e *env, s *server, d Download, err error)
	verified := func(t *testing.T, e *env, s *server, d Download, err error) {
		if err != nil || d.State != StateDone {
			t.Fatalf("download = %+v, %v; want done", d, err)
		}
		e.checkModel(t, "org/repo:Q8_0", content)
	}
	resumed := func(t *testing.T, e *env, s *server, d Download, err error) {
		verified(t, e, s, d, err)
		if s.rangeRequests() == 0 {
			t.Fatal("the download never resumed with Range")
		}
	}
	cleanErr := func(target error) check {
		return func(t *testing.T, e *env, s *server, d Download, err error) {
			if !errors.Is(err, target) || d.State != StateFailed || d.Error == "" {
				t.Fatalf("download = %+v, %v; want a failure with %v", d, err, target)
			}
			e.checkNothing(t)
		}
	}
	cases := []struct {
		name      string
		misbehave func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool
		noHash    bool
		want      string // expected SHA given by the "catalog"
		check     check
	}{
		{name: "well behaved", check: verified},
		{name: "drops the connection twice", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			if n <= 2 {
				start := startAt(r)
				dropAfter(w, c, start, (len(c)-start)/3)
			}
			return false
		}, check: resumed},
		{name: "ignores Range", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			if n == 1 {
				dropAfter(w, c, 0, half)
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(c)))
			w.WriteHeader(http.StatusOK)
			w.Write(c)
			return true
		}, check: verified},
		{name: "Content-Range starts elsewhere", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			switch n {
			case 1:
				dropAfter(w, c, 0, half)
			case 2:
				start := startAt(r) - 1000
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(c)-1, len(c)))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(c[start:])
				return true
			}
			return false
		}, check: verified},
		{name: "answers 416 for a valid range", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			switch n {
			case 1:
				dropAfter(w, c, 0, half)
			case 2:
				w.Header().Set("Content-Range", "bytes */"+strconv.Itoa(len(c)+5))
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return true
			}
			return false
		}, check: verified},
		{name: "short body then 416 at the end", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			if n == 1 {
				// Announces 10 bytes more than it sends: the client sees the
				// whole file, then an early EOF; its resume gets a 416.
				w.Header().Set("Content-Length", strconv.Itoa(len(c)+10))
				w.WriteHeader(http.StatusOK)
				w.Write(c)
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
			return false
		}, check: resumed},
		{name: "Content-Length too small", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			w.Header().Set("Content-Length", strconv.Itoa(len(c)-100))
			w.WriteHeader(http.StatusOK)
			w.Write(c[:len(c)-100])
			return true
		}, check: cleanErr(ErrChecksum)},
		{name: "wrong bytes", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			bad := bytes.Clone(c)
			bad[len(bad)/2] ^= 0xff
			http.ServeContent(w, r, "m.gguf", time.Time{}, bytes.NewReader(bad))
			return true
		}, check: cleanErr(ErrChecksum)},
		{name: "wrong bytes, hash only in the catalog", noHash: true, want: "", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			bad := bytes.Clone(c)
			bad[len(bad)/2] ^= 0xff
			http.ServeContent(w, r, "m.gguf", time.Time{}, bytes.NewReader(bad))
			return true
		}, check: cleanErr(ErrChecksum)},
		{name: "server hash differs from the catalog", want: sha(other), check: cleanErr(ErrChecksum)},
		{name: "server errors then recovers", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			if n <= 3 {
				http.Error(w, "busy", []int{500, 503, 429}[n-1])
				return true
			}
			return false
		}, check: verified},
		{name: "not found", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			http.NotFound(w, r)
			return true
		}, check: func(t *testing.T, e *env, s *server, d Download, err error) {
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != 404 || d.State != StateFailed {
				t.Fatalf("download = %+v, %v; want a 404 failure", d, err)
			}
			if s.requests != 1 {
				t.Fatalf("%d requests for a 404, want 1 (no retry)", s.requests)
			}
			e.checkNothing(t)
		}},
		{name: "always drops at the same byte", misbehave: func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
			start := startAt(r)
			if start < half {
				dropAfter(w, c, start, half-start)
			}
			dropAfter(w, c, start, 0)
			return true
		}, check: func(t *testing.T, e *env, s *server, d Download, err error) {
			if !errors.Is(err, ErrGaveUp) || d.State != StateFailed {
				t.Fatalf("download = %+v, %v; want ErrGaveUp", d, err)
			}
			ms, _ := e.lib.List(context.Background())
			if len(ms) != 0 {
				t.Fatalf("models registered: %v", ms)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, url := startServer(t, content)
			s.mu.Lock()
			s.misbehave, s.noHash = c.misbehave, c.noHash
			s.mu.Unlock()
			want := c.want
			if c.noHash && want == "" {
				want = sha(content)
			}
			e := newEnv(t, t.TempDir(), testOptions())
			d, err := e.pull(t, url, "org/repo:Q8_0", want)
			c.check(t, e, s, d, err)
		})
	}
}

// TestDownloadFileChanges: the file changes upstream between attempts. With
// If-Range the server sends the new file whole; the download ends verified
// against the new file's announced hash, or, when the catalog pinned the
// old hash, fails cleanly.
func TestDownloadFileChanges(t *testing.T) {
	a, b := modelBytes(t, 200<<10, 3), modelBytes(t, 220<<10, 4)
	for _, pinned := range []bool{false, true} {
		t.Run(fmt.Sprintf("pinned=%v", pinned), func(t *testing.T) {
			s, url := startServer(t, a)
			var sawIfRange atomic.Bool
			s.behave(func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
				if n == 1 {
					defer s.setContent(b)
					dropAfter(w, c, 0, len(c)/2)
				}
				if r.Header.Get("If-Range") != "" {
					sawIfRange.Store(true)
				}
				return false
			})
			e := newEnv(t, t.TempDir(), testOptions())
			want := ""
			if pinned {
				want = sha(a)
			}
			d, err := e.pull(t, url, "org/repo:Q8_0", want)
			if !sawIfRange.Load() {
				t.Fatal("resume did not send If-Range")
			}
			if pinned {
				if !errors.Is(err, ErrChecksum) || d.State != StateFailed {
					t.Fatalf("download = %+v, %v; want ErrChecksum", d, err)
				}
				e.checkNothing(t)
				return
			}
			if err != nil || d.State != StateDone {
				t.Fatalf("download = %+v, %v", d, err)
			}
			e.checkModel(t, "org/repo:Q8_0", b)
		})
	}
}

// TestDownloadStall: a server that stops sending is detected by the stall
// timer; the download reconnects and resumes.
func TestDownloadStall(t *testing.T) {
	content := modelBytes(t, 200<<10, 5)
	s, url := startServer(t, content)
	s.behave(func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(c)))
		w.WriteHeader(http.StatusOK)
		w.Write(c[:len(c)/3])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // drip nothing more until the client gives up
		return true
	})
	opts := testOptions()
	opts.StallTimeout = 200 * time.Millisecond
	e := newEnv(t, t.TempDir(), opts)
	d, err := e.pull(t, url, "org/repo:Q8_0", "")
	if err != nil || d.State != StateDone {
		t.Fatalf("download = %+v, %v", d, err)
	}
	e.checkModel(t, "org/repo:Q8_0", content)
	if s.rangeRequests() != 1 {
		t.Fatalf("range requests = %d, want 1 resume after the stall", s.rangeRequests())
	}
}

// slowServer sends content in small chunks with a pause between them, and
// closes gate (once) when the first bytes went out.
func slowServer(t *testing.T, content []byte, chunk int, pause time.Duration) (*server, string) {
	s, url := startServer(t, content)
	s.behave(func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
		http.ServeContent(w, r, "m.gguf", s.modTime, &slowReader{r: bytes.NewReader(c), chunk: chunk, pause: pause})
		return true
	})
	return s, url
}

type slowReader struct {
	r     *bytes.Reader
	chunk int
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	if len(p) > s.chunk {
		p = p[:s.chunk]
	}
	return s.r.Read(p)
}

func (s *slowReader) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }

// waitProgress waits until the download has written at least n bytes.
func waitPartial(t *testing.T, e *env, id string, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(filepath.Join(e.lib.DownloadsDir(), id+".partial")); err == nil && fi.Size() >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("download made no progress")
}

func TestDownloadPauseResumeCancel(t *testing.T) {
	content := modelBytes(t, 256<<10, 6)
	s, url := slowServer(t, content, 8<<10, 5*time.Millisecond)
	e := newEnv(t, t.TempDir(), testOptions())
	ctx := context.Background()
	d, err := e.mgr.Start(ctx, Target{Name: "org/repo:Q8_0", URL: url})
	if err != nil {
		t.Fatal(err)
	}
	waitPartial(t, e, d.ID, 32<<10)
	if err := e.mgr.Pause(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.mgr.Get(ctx, d.ID); got.State != StatePaused {
		t.Fatalf("state after pause = %s", got.State)
	}
	if _, err := os.Stat(filepath.Join(e.lib.DownloadsDir(), d.ID+".partial")); err != nil {
		t.Fatalf("partial gone after pause: %v", err)
	}
	// Pulling the same URL again continues the same download.
	d2, err := e.mgr.Start(ctx, Target{Name: "org/repo:Q8_0", URL: url})
	if err != nil || d2.ID != d.ID {
		t.Fatalf("second start = %+v, %v; want the same download", d2, err)
	}
	if d2, err = e.mgr.Wait(ctx, d.ID); err != nil || d2.State != StateDone {
		t.Fatalf("after resume: %+v, %v", d2, err)
	}
	e.checkModel(t, "org/repo:Q8_0", content)
	if s.rangeRequests() == 0 {
		t.Fatal("resume did not use Range")
	}

	// Cancel: the partial file goes, nothing is registered.
	other := modelBytes(t, 256<<10, 7)
	s.setContent(other)
	url2 := strings.Replace(url, "model-Q8_0", "other-Q4_0", 1)
	d3, err := e.mgr.Start(ctx, Target{Name: "org/other:Q4_0", URL: url2})
	if err != nil {
		t.Fatal(err)
	}
	waitPartial(t, e, d3.ID, 16<<10)
	if err := e.mgr.Cancel(ctx, d3.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.mgr.Get(ctx, d3.ID); got.State != StateCancelled {
		t.Fatalf("state after cancel = %s", got.State)
	}
	e.checkModel(t, "org/repo:Q8_0", content) // still only the first model, no partials
}

// TestDownloadConcurrencyLimit: with MaxConcurrent 1, two downloads never
// transfer at the same time.
func TestDownloadConcurrencyLimit(t *testing.T) {
	a, b := modelBytes(t, 64<<10, 8), modelBytes(t, 64<<10, 9)
	var active, most atomic.Int32
	mux := http.NewServeMux()
	for name, c := range map[string][]byte{"a": a, "b": b} {
		c := c
		mux.HandleFunc("/org/"+name+"/resolve/main/m.gguf", func(w http.ResponseWriter, r *http.Request) {
			n := active.Add(1)
			defer active.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			w.Header().Set("X-Linked-Etag", `"`+sha(c)+`"`)
			http.ServeContent(w, r, "m.gguf", time.Time{}, &slowReader{r: bytes.NewReader(c), chunk: 8 << 10, pause: 3 * time.Millisecond})
		})
	}
	ts := httptest.NewServer(mux)
	defer ts.Close()
	opts := testOptions()
	opts.MaxConcurrent = 1
	e := newEnv(t, t.TempDir(), opts)
	ctx := context.Background()
	da, err := e.mgr.Start(ctx, Target{Name: "a", URL: ts.URL + "/org/a/resolve/main/m.gguf"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := e.mgr.Start(ctx, Target{Name: "b", URL: ts.URL + "/org/b/resolve/main/m.gguf"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{da.ID, db.ID} {
		if d, err := e.mgr.Wait(ctx, id); err != nil || d.State != StateDone {
			t.Fatalf("download %s = %+v, %v", id, d, err)
		}
	}
	if most.Load() != 1 {
		t.Fatalf("%d downloads ran at once, limit 1", most.Load())
	}
}

// TestDownloadSurvivesRestart: a manager closed mid-download (as at app
// exit) leaves the download queued; a new manager resumes it from the
// partial file.
func TestDownloadSurvivesRestart(t *testing.T) {
	content := modelBytes(t, 256<<10, 10)
	s, url := slowServer(t, content, 8<<10, 5*time.Millisecond)
	dir := t.TempDir()
	e := newEnv(t, dir, testOptions())
	ctx := context.Background()
	d, err := e.mgr.Start(ctx, Target{Name: "org/repo:Q8_0", URL: url})
	if err != nil {
		t.Fatal(err)
	}
	waitPartial(t, e, d.ID, 64<<10)
	e.close()

	e2 := newEnv(t, dir, testOptions())
	if got, _ := e2.mgr.Get(ctx, d.ID); got.State != StateQueued || got.Done == 0 {
		t.Fatalf("after close: %+v; want queued with progress", got)
	}
	ds, err := e2.mgr.ResumeAll(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ResumeAll = %v, %v", ds, err)
	}
	if got, err := e2.mgr.Wait(ctx, d.ID); err != nil || got.State != StateDone {
		t.Fatalf("resumed: %+v, %v", got, err)
	}
	e2.checkModel(t, "org/repo:Q8_0", content)
	if s.rangeRequests() == 0 {
		t.Fatal("no Range request after restart")
	}
}

func TestDownloadProgressEvents(t *testing.T) {
	content := modelBytes(t, 128<<10, 11)
	_, url := slowServer(t, content, 16<<10, 60*time.Millisecond)
	e := newEnv(t, t.TempDir(), testOptions())
	if _, err := e.pull(t, url, "org/repo:Q8_0", ""); err != nil {
		t.Fatal(err)
	}
	var states []string
	var sawPartial bool
	for _, ev := range e.rec.Events() {
		p, ok := ev.Payload.(events.Progress)
		if !ok || p.Kind != "download" {
			continue
		}
		if len(states) == 0 || states[len(states)-1] != p.State {
			states = append(states, p.State)
		}
		if p.State == StateRunning && p.Done > 0 && p.Done < p.Total && p.Total == int64(len(content)) {
			sawPartial = true
		}
	}
	if !sawPartial {
		t.Error("no progress event with 0 < done < total")
	}
	if len(states) < 3 || states[0] != StateQueued || states[len(states)-1] != StateDone {
		t.Errorf("states = %v; want queued ... done", states)
	}
}

// TestDownloadNoSpace: a download that cannot fit on the disk is refused
// before any byte is written, whether the size is known up front or only
// from the server's answer.
func TestDownloadNoSpace(t *testing.T) {
	content := modelBytes(t, 64<<10, 13)
	_, url := startServer(t, content)
	opts := testOptions()
	opts.MinFree = 1 << 60
	e := newEnv(t, t.TempDir(), opts)
	ctx := context.Background()
	if _, err := e.mgr.Start(ctx, Target{Name: "a", URL: url, Size: int64(len(content)), SizeExact: true}); !errors.Is(err, library.ErrNoSpace) {
		t.Fatalf("start with a known size = %v, want ErrNoSpace", err)
	}
	d, err := e.pull(t, url, "a", "")
	if !errors.Is(err, library.ErrNoSpace) || d.State != StateFailed {
		t.Fatalf("download = %+v, %v; want ErrNoSpace", d, err)
	}
	e.checkNothing(t)
}

// TestDownloadNotGGUF: bytes that match the announced hash but are not a
// GGUF model (an HTML error page, say) are refused and deleted.
func TestDownloadNotGGUF(t *testing.T) {
	_, url := startServer(t, []byte("<html>rate limited</html>"))
	e := newEnv(t, t.TempDir(), testOptions())
	d, err := e.pull(t, url, "org/repo:Q8_0", "")
	if !errors.Is(err, library.ErrInvalidGGUF) || d.State != StateFailed {
		t.Fatalf("download = %+v, %v; want ErrInvalidGGUF", d, err)
	}
	e.checkNothing(t)
}

// TestDownloadKilledAfterImport: a process killed after the library took
// the file but before the download was recorded done leaves a running
// download whose model exists. Resuming it must end done with that one
// model, not import the same bytes again under a second name.
func TestDownloadKilledAfterImport(t *testing.T) {
	content := modelBytes(t, 64<<10, 13)
	_, url := startServer(t, content)
	dir := t.TempDir()
	e := newEnv(t, dir, testOptions())
	ctx := context.Background()
	d, err := e.pull(t, url, "org/repo:Q8_0", "")
	if err != nil || d.State != StateDone || d.ModelID == "" {
		t.Fatalf("pull = %+v, %v", d, err)
	}
	if _, err := e.db.ExecContext(ctx, `UPDATE downloads SET state = 'running', model_id = '' WHERE id = ?`, d.ID); err != nil {
		t.Fatal(err)
	}
	e.close()

	e2 := newEnv(t, dir, testOptions())
	if ds, err := e2.mgr.ResumeAll(ctx); err != nil || len(ds) != 1 {
		t.Fatalf("ResumeAll = %v, %v", ds, err)
	}
	got, err := e2.mgr.Wait(ctx, d.ID)
	if err != nil || got.State != StateDone || got.ModelID != d.ModelID {
		t.Fatalf("resumed: %+v, %v; want done with model %s", got, err, d.ModelID)
	}
	e2.checkModel(t, "org/repo:Q8_0", content)
}
