package modelstore

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestDownloadHashFromRedirect mirrors Hugging Face: the resolve URL answers
// with a redirect carrying X-Linked-Etag (the LFS SHA-256), and the CDN that
// serves the bytes announces no hash of its own.
func TestDownloadHashFromRedirect(t *testing.T) {
	content := modelBytes(t, 128<<10, 20)
	for _, tc := range []struct {
		name    string
		served  []byte
		wantErr error
	}{
		{"right bytes", content, nil},
		{"wrong bytes", append(bytes.Clone(content[:len(content)-1]), content[len(content)-1]^1), ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `W/"cdn-weak"`) // weak: If-Range must fall back to Last-Modified
				http.ServeContent(w, r, "m.gguf", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), bytes.NewReader(tc.served))
			}))
			defer cdn.Close()
			hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Linked-Etag", `"`+sha(content)+`"`)
				http.Redirect(w, r, cdn.URL+"/blob", http.StatusFound)
			}))
			defer hub.Close()
			e := newEnv(t, t.TempDir(), testOptions())
			d, err := e.pull(t, hub.URL+"/org/repo/resolve/main/m-Q8_0.gguf", "org/repo:Q8_0", "")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("download = %+v, %v; want %v", d, err, tc.wantErr)
				}
				e.checkNothing(t)
				return
			}
			if err != nil || d.State != StateDone || !d.Verified || d.ServerSHA256 != sha(content) {
				t.Fatalf("download = %+v, %v", d, err)
			}
			e.checkModel(t, "org/repo:Q8_0", content)
		})
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-99/100", 0, 100, true},
		{"bytes 10-99/*", 10, 0, true},
		{"bytes */100", -1, 100, true},
		{"bytes 10-9/100", 0, 0, false},
		{"bytes 0-100/100", 0, 0, false},
		{"bytes -1-5/10", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes 0-1", 0, 0, false},
		{"bytes 0-1/x", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		start, total, ok := parseContentRange(c.in)
		if ok != c.ok || ok && (start != c.start || total != c.total) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", c.in, start, total, ok)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes */5", "bytes 1-2/*", "bytes 9223372036854775807-9223372036854775807/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, total, ok := parseContentRange(s)
		if ok && (total < 0 || start < -1 || (total > 0 && start >= total)) {
			t.Fatalf("parseContentRange(%q) = %d, %d accepted", s, start, total)
		}
	})
}

func FuzzParseRepoRef(f *testing.F) {
	for _, s := range []string{"org/repo", "org/repo:Q4_K_M", "org/repo/a/b.gguf", "org/repo:f.gguf", "a/b/resolve/main/c.gguf", "../x", "a/b/%2e%2e/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		repo, file, _, err := parseRepoRef(ref)
		if err != nil {
			return
		}
		if _, _, err := splitRepo(repo); err != nil {
			t.Fatalf("%q gave bad repo %q", ref, repo)
		}
		if file != "" && cleanFile(file) != nil {
			t.Fatalf("%q gave bad file %q", ref, file)
		}
	})
}

// TestDownloadWeakETagResumesByDate: a weak ETag cannot validate a range,
// so the resume's If-Range carries Last-Modified instead.
func TestDownloadWeakETagResumesByDate(t *testing.T) {
	content := modelBytes(t, 128<<10, 21)
	s, url := startServer(t, content)
	var ifRange atomic.Value // string
	s.behave(func(n int, w http.ResponseWriter, r *http.Request, c []byte) bool {
		w.Header().Set("ETag", `W/"weak"`)
		if n == 1 {
			w.Header().Set("Last-Modified", s.modTime.UTC().Format(http.TimeFormat))
			dropAfter(w, c, 0, len(c)/2)
		}
		ifRange.Store(r.Header.Get("If-Range"))
		return false
	})
	e := newEnv(t, t.TempDir(), testOptions())
	if d, err := e.pull(t, url, "org/repo:Q8_0", ""); err != nil || d.State != StateDone {
		t.Fatalf("download = %+v, %v", d, err)
	}
	if want := s.modTime.UTC().Format(http.TimeFormat); ifRange.Load() != want {
		t.Fatalf("If-Range = %q, want the date %q", ifRange, want)
	}
	if s.rangeRequests() != 1 {
		t.Fatalf("range requests = %d, want 1", s.rangeRequests())
	}
	e.checkModel(t, "org/repo:Q8_0", content)
}
