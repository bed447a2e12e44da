package modelstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
)

// Errors of a download that callers may test for with errors.Is.
var (
	// ErrChecksum: the downloaded bytes do not have the expected SHA-256.
	// The partial file has been deleted.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrGaveUp: too many attempts in a row made no progress.
	ErrGaveUp = errors.New("download failed after retries")
	// ErrUnresolved: the store's host name did not resolve, attempt after
	// attempt (no network, or a wrong store address). Waiting for minutes
	// rarely helps, so the download gives up sooner than on other failures.
	ErrUnresolved = errors.New("cannot resolve the store's host name")
	// ErrPaused and ErrCancelled are the causes a download stops with when
	// the user paused or cancelled it.
	ErrPaused    = errors.New("download paused")
	ErrCancelled = errors.New("download cancelled")
)

// HTTPError is a response status that retrying will not fix (404, 403, ...).
type HTTPError struct {
	URL    string
	Status int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// errStalled is the cause an attempt is cancelled with when no byte arrived
// for the stall timeout.
var errStalled = errors.New("connection stalled")

// retryable marks an attempt's failure as worth another attempt.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func retry(format string, args ...any) error { return retryable{fmt.Errorf(format, args...)} }

// fetchSpec says what to download and how to check it.
type fetchSpec struct {
	ID        string // names the partial file: <ID>.partial
	URL       string
	Name      string // for progress display
	ExpectSHA string // lowercase hex; "" when only the server can tell
}

// fetchState is what a download must remember between attempts and across
// restarts of the process; it is persisted through fetcher.save.
type fetchState struct {
	ETag         string // strong validator for If-Range
	LastModified string // weaker validator, used when there is no strong ETag
	ServerSHA    string // content hash the server announced for the bytes we hold
	Total        int64  // full size; 0 when unknown
	Done         int64  // bytes in the partial file (advisory; the file is the truth)
}

// fetchResult describes a complete, verified download.
type fetchResult struct {
	SHA256   string
	Size     int64
	Verified bool // false when neither the catalog nor the server named a hash
}

// fetcher runs one download with retries. It is not safe for concurrent use;
// the Manager makes one per download.
type fetcher struct {
	client      *http.Client
	dir         *os.Root // the downloads folder
	dirPath     string   // same folder, for the free-space check
	stall       time.Duration
	maxFailures int
	// maxUnresolved is how many attempts in a row may fail to resolve the
	// host before the download gives up.
	maxUnresolved int
	backoffBase   time.Duration
	backoffMax    time.Duration
	minFree       int64
	save          func(fetchState) // may be nil
	meter         *events.Meter

	// per-download working state
	file  *os.File
	h     hash.Hash
	off   int64
	state fetchState
}

// partialName is the file a download writes to until it is verified.
func partialName(id string) string { return id + ".partial" }

// run downloads spec into <dir>/<ID>.partial, resuming what is there, and
// returns once the file is complete and verified, or with an error. On
// ErrChecksum the partial file is deleted; on other errors it is kept for a
// later resume.
func (f *fetcher) run(ctx context.Context, spec fetchSpec, st fetchState) (fetchResult, error) {
	file, err := f.dir.OpenFile(partialName(spec.ID), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fetchResult{}, fmt.Errorf("open partial download: %w", err)
	}
	defer file.Close()
	if err := library.TryLock(file); err != nil {
		return fetchResult{}, fmt.Errorf("download %s: %w", spec.Name, err)
	}
	f.file, f.state = file, st
	if err := f.rehash(ctx); err != nil {
		return fetchResult{}, err
	}

	failures, unresolved, best := 0, 0, f.off
	for {
		done, err := f.attempt(ctx, spec)
		if f.save != nil {
			f.state.Done = f.off
			f.save(f.state)
		}
		if err == nil && done {
			return f.verify(spec)
		}
		if cause := context.Cause(ctx); cause != nil {
			return fetchResult{}, cause
		}
		var r retryable
		if err != nil && !errors.As(err, &r) {
			// Bytes that can never become the right file, or no bytes at
			// all, are not worth keeping for a resume.
			if errors.Is(err, ErrChecksum) || f.off == 0 {
				f.file.Close()
				_ = f.dir.Remove(partialName(spec.ID))
			}
			return fetchResult{}, err
		}
		// Only attempts that get further than ever before reset the count, so
		// a server that always drops at the same byte cannot keep us forever.
		if f.off > best {
			best, failures = f.off, 0
		}
		failures++
		var dns *net.DNSError
		if errors.As(err, &dns) {
			unresolved++
		} else {
			unresolved = 0
		}
		if unresolved > 0 && unresolved >= f.maxUnresolved {
			f.dropEmpty(spec)
			return fetchResult{}, fmt.Errorf("%w: %s (%d tries; is there a network?)", ErrUnresolved, dns.Name, unresolved)
		}
		if failures > f.maxFailures {
			f.dropEmpty(spec)
			return fetchResult{}, fmt.Errorf("%w (%d attempts without progress): %v", ErrGaveUp, failures, err)
		}
		wait := f.backoff(failures)
		// The progress line says what failed and when the next try comes,
		// rather than sitting at the last count.
		f.meter.State(StateRetrying, fmt.Sprintf("%s; next try in %s", attemptFailure(err), wait.Round(time.Second)))
		if err := sleepCtx(ctx, wait); err != nil {
			return fetchResult{}, context.Cause(ctx)
		}
	}
}

// dropEmpty removes a partial file that holds no byte: there is nothing to
// resume.
func (f *fetcher) dropEmpty(spec fetchSpec) {
	if f.off == 0 {
		f.file.Close()
		_ = f.dir.Remove(partialName(spec.ID))
	}
}

// attemptFailure says in a few words why an attempt failed, for the
// progress line.
func attemptFailure(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve " + dns.Name
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// rehash rebuilds the running hash over the bytes already in the partial file,
// so a resumed download is verified as a whole.
func (f *fetcher) rehash(ctx context.Context) error {
	fi, err := f.file.Stat()
	if err != nil {
		return fmt.Errorf("stat partial download: %w", err)
	}
	f.h, f.off = sha256.New(), 0
	if fi.Size() == 0 {
		return nil
	}
	f.meter.State("verifying", "")
	n, err := io.Copy(f.h, &ctxReader{ctx: ctx, r: io.NewSectionReader(f.file, 0, fi.Size())})
	if err != nil {
		return fmt.Errorf("hash partial download: %w", err)
	}
	f.off = n
	return nil
}

// restart throws away the partial bytes: the server sent something that does
// not continue them.
func (f *fetcher) restart() error {
	if err := f.file.Truncate(0); err != nil {
		return fmt.Errorf("truncate partial download: %w", err)
	}
	f.h.Reset()
	f.off = 0
	f.state = fetchState{}
	return nil
}

func (f *fetcher) backoff(failures int) time.Duration {
	d := f.backoffBase << min(failures-1, 16)
	if d > f.backoffMax || d <= 0 {
		d = f.backoffMax
	}
	// ±20% jitter so that many clients do not retry in lockstep.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// redirectInfo collects the headers of redirect responses: Hugging Face puts
// the LFS content hash (X-Linked-Etag) on the redirect, not on the CDN's
// final answer.
type redirectInfo struct{ header http.Header }

type redirectKey struct{}

// captureRedirects is an http.Client CheckRedirect that records the
// redirect's headers for fetcher.
func captureRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if info, ok := req.Context().Value(redirectKey{}).(*redirectInfo); ok && req.Response != nil {
		for k, v := range req.Response.Header {
			if _, seen := info.header[k]; !seen {
				info.header[k] = v
			}
		}
	}
	return nil
}

// attempt makes one request and appends what arrives. It returns done=true
// when the file is complete.
func (f *fetcher) attempt(ctx context.Context, spec fetchSpec) (bool, error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	info := &redirectInfo{header: http.Header{}}
	actx = context.WithValue(actx, redirectKey{}, info)
	stall := time.AfterFunc(f.stall, func() { cancel(errStalled) })
	defer stall.Stop()

	req, err := http.NewRequestWithContext(actx, http.MethodGet, spec.URL, nil)
	if err != nil {
		return false, fmt.Errorf("download %s: %w", spec.URL, err)
	}
	req.Header.Set("User-Agent", "inference-runtime")
	if f.off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", f.off))
		if f.state.ETag != "" {
			req.Header.Set("If-Range", f.state.ETag)
		} else if f.state.LastModified != "" {
			req.Header.Set("If-Range", f.state.LastModified)
		}
	}
	f.meter.State("running", "")
	resp, err := f.client.Do(req)
	if err != nil {
		return false, f.readErr(ctx, actx, err)
	}
	defer resp.Body.Close()
	serverSHA := contentHash(resp.Header, info.header)

	switch resp.StatusCode {
	case http.StatusOK:
		// Either we asked for everything, or the server ignored Range, or
		// If-Range found the file changed: in every case this is the whole
		// file from byte 0.
		if err := f.restart(); err != nil {
			return false, err
		}
		f.state.Total = max(resp.ContentLength, 0)
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		changed := (f.state.ETag != "" && strongETag(resp.Header.Get("ETag")) != "" && strongETag(resp.Header.Get("ETag")) != f.state.ETag) ||
			(f.state.ServerSHA != "" && serverSHA != "" && serverSHA != f.state.ServerSHA) ||
			(f.state.Total > 0 && total > 0 && total != f.state.Total)
		if !ok || start != f.off || changed {
			if err := f.restart(); err != nil {
				return false, err
			}
			return false, retry("server answered Range %d- with %q (changed=%v); starting over", f.off, resp.Header.Get("Content-Range"), changed)
		}
		if total > 0 {
			f.state.Total = total
		}
	case http.StatusRequestedRangeNotSatisfiable:
		_, total, _ := parseContentRange(resp.Header.Get("Content-Range"))
		if f.off > 0 && total == f.off {
			return true, nil // we already hold every byte
		}
		if err := f.restart(); err != nil {
			return false, err
		}
		return false, retry("server refused range %d- (size %d); starting over", f.off, total)
	default:
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			return false, retryable{&HTTPError{URL: spec.URL, Status: resp.StatusCode}}
		}
		return false, &HTTPError{URL: spec.URL, Status: resp.StatusCode}
	}

	if et := strongETag(resp.Header.Get("ETag")); et != "" {
		f.state.ETag = et
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		f.state.LastModified = lm
	}
	if serverSHA != "" {
		f.state.ServerSHA = serverSHA
	}
	if spec.ExpectSHA != "" && f.state.ServerSHA != "" && spec.ExpectSHA != f.state.ServerSHA {
		return false, fmt.Errorf("%w: the server's file has SHA-256 %s, the catalog expects %s", ErrChecksum, f.state.ServerSHA, spec.ExpectSHA)
	}
	if err := f.checkSpace(); err != nil {
		return false, err
	}
	if f.save != nil {
		f.save(f.state)
	}
	f.meter.SetTotal(f.state.Total)

	buf := make([]byte, 256<<10)
	lastSync := f.off
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			stall.Reset(f.stall)
			if f.state.Total > 0 && f.off+int64(n) > f.state.Total {
				if err := f.restart(); err != nil {
					return false, err
				}
				return false, retry("server sent more bytes than the announced %d; starting over", f.state.Total)
			}
			if _, err := f.file.WriteAt(buf[:n], f.off); err != nil {
				return false, fmt.Errorf("write partial download: %w", err)
			}
			f.h.Write(buf[:n])
			f.off += int64(n)
			f.meter.Set(f.off)
			// Flush now and then so that a power cut loses little; a kill
			// loses nothing either way.
			if f.off-lastSync >= 64<<20 {
				_ = f.file.Sync()
				lastSync = f.off
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return false, f.readErr(ctx, actx, rerr)
		}
	}
	if f.state.Total > 0 && f.off < f.state.Total {
		return false, retry("connection closed at byte %d of %d", f.off, f.state.Total)
	}
	return true, nil
}

// readErr turns a transport error into the right kind: the caller's
// cancellation, or a retryable failure (drop, reset, stall).
func (f *fetcher) readErr(ctx, actx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	if errors.Is(context.Cause(actx), errStalled) {
		return retry("no data for %s: %w", f.stall, errStalled)
	}
	return retryable{err}
}

func (f *fetcher) checkSpace() error {
	if f.state.Total <= 0 || f.dirPath == "" {
		return nil
	}
	free, err := library.FreeSpace(f.dirPath)
	if err != nil || free < 0 {
		return nil // unknown: do not block the download on it
	}
	need := f.state.Total - f.off + f.minFree
	if free < need {
		return fmt.Errorf("%w: need %s more, %s free in %s", library.ErrNoSpace,
			events.FormatBytes(need), events.FormatBytes(free), f.dirPath)
	}
	return nil
}

// verify checks the finished file against the expected hash. A mismatch
// deletes the file: it can never become good by resuming.
func (f *fetcher) verify(spec fetchSpec) (fetchResult, error) {
	if err := f.file.Sync(); err != nil {
		return fetchResult{}, fmt.Errorf("sync download: %w", err)
	}
	got := hex.EncodeToString(f.h.Sum(nil))
	want := spec.ExpectSHA
	if want == "" {
		want = f.state.ServerSHA
	}
	if want != "" && got != want {
		f.file.Close()
		if err := f.dir.Remove(partialName(spec.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fetchResult{}, fmt.Errorf("%w: got %s, want %s (and removing the file failed: %v)", ErrChecksum, got, want, err)
		}
		return fetchResult{}, fmt.Errorf("%w: got %s, want %s; the download was deleted", ErrChecksum, got, want)
	}
	return fetchResult{SHA256: got, Size: f.off, Verified: want != ""}, nil
}

// contentHash returns the SHA-256 the server announces for the file, from
// X-Linked-Etag (Hugging Face, on the redirect) or an ETag that is a bare
// SHA-256 (Hugging Face's LFS files, many mirrors), lowercased; "" if none.
func contentHash(final, redirect http.Header) string {
	for _, h := range []http.Header{final, redirect} {
		for _, key := range []string{"X-Linked-Etag", "ETag"} {
			v := strings.ToLower(strings.Trim(strings.TrimPrefix(h.Get(key), "W/"), `"`))
			v = strings.TrimPrefix(v, "sha256:")
			if library.ValidDigest(v) {
				return v
			}
		}
	}
	return ""
}

// strongETag returns etag if it is a strong validator (usable in If-Range).
func strongETag(etag string) string {
	if strings.HasPrefix(etag, "W/") || len(etag) < 2 || etag[0] != '"' {
		return ""
	}
	return etag
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*") or
// "bytes */TOTAL". total is 0 when unknown, start -1 for the "*" form.
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return -1, total, true
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || (total > 0 && end >= total) {
		return 0, 0, false
	}
	return start, total, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ctxReader stops a long read (re-hashing gigabytes) when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
