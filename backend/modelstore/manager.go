package modelstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
)

// Download states, as stored and as reported in events.Progress.State
// (which also uses "running", "verifying" and "retrying" transiently).
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StatePaused    = "paused"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
	// StateRetrying is only reported: an attempt failed and the next one
	// waits (Progress.Error says why and for how long).
	StateRetrying = "retrying"
)

// errClosing stops downloads when the manager closes; they stay queued and
// continue on the next start.
var errClosing = errors.New("download manager closing")

// Download is the state of one download.
type Download struct {
	ID             string `json:"id"`
	Name           string `json:"name"` // the model name it will get
	URL            string `json:"url"`
	Repo           string `json:"repo"`
	File           string `json:"file"`
	ExpectedSHA256 string `json:"expectedSha256,omitempty"`
	ServerSHA256   string `json:"serverSha256,omitempty"`
	Total          int64  `json:"total"`
	Done           int64  `json:"done"`
	State          string `json:"state"`
	Error          string `json:"error,omitempty"`
	ModelID        string `json:"modelId,omitempty"`
	// ProjectorOf is, for the vision projector of a model being pulled,
	// the id of that model's download; it starts once the model is in.
	ProjectorOf string `json:"projectorOf,omitempty"`
	// Verified is true when the bytes were (or will be) checked against a
	// published SHA-256: the catalog's or the server's. A mirror that
	// publishes none gives an unverified download.
	Verified  bool      `json:"verified"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Options tune the manager. Zero values take the defaults.
type Options struct {
	Client        *http.Client  // default: a client with sensible transport timeouts
	MaxConcurrent int           // downloads running at once (default 2)
	StallTimeout  time.Duration // reconnect when no byte came for this long (default 30s)
	MaxFailures   int           // attempts in a row without progress before giving up (default 10)
	MaxUnresolved int           // attempts in a row whose host name did not resolve before giving up (default 5, about 15 s)
	BackoffBase   time.Duration // first retry delay, doubled each time (default 1s)
	BackoffMax    time.Duration // longest retry delay (default 1m)
	MinFree       int64         // disk space to leave free (default 256 MiB)
}

func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = NewClient()
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 2
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 30 * time.Second
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 10
	}
	if o.MaxUnresolved <= 0 {
		o.MaxUnresolved = 5
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Minute
	}
	if o.MinFree <= 0 {
		o.MinFree = 256 << 20
	}
	return o
}

// NewClient returns the HTTP client the store uses: redirects followed
// with their headers recorded (for the content hash), no overall timeout
// (downloads are long; stalls are caught per read).
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: tr, CheckRedirect: captureRedirects}
}

// Manager runs downloads: at most MaxConcurrent at once, each resumable,
// verified and finally imported into the library.
type Manager struct {
	db   *sql.DB
	lib  *library.Library
	emit events.Emitter
	opts Options
	dl   *os.Root
	sem  chan struct{}

	startMu sync.Mutex // one Start at a time: two pulls of one URL share a download
	mu      sync.Mutex
	jobs    map[string]*job
	base    context.Context
	stop    context.CancelCauseFunc
	wg      sync.WaitGroup
	now     func() time.Time
}

type job struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
	err    error // why it stopped; nil when done; read after done is closed
}

// NewManager returns a manager using db (with the downloads migration) and
// lib's downloads folder. It removes partial files no download owns any
// more, and starts nothing: call ResumeAll for that.
func NewManager(db *sql.DB, lib *library.Library, emit events.Emitter, opts Options) (*Manager, error) {
	dl, err := lib.OpenDownloads()
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancelCause(context.Background())
	m := &Manager{db: db, lib: lib, emit: events.Or(emit), opts: opts.withDefaults(), dl: dl,
		jobs: map[string]*job{}, base: base, stop: stop, now: time.Now}
	m.sem = make(chan struct{}, m.opts.MaxConcurrent)
	m.cleanPartials()
	return m, nil
}

// Close stops the running downloads, leaving them to continue on the next
// start, and waits for them to let go of their files.
func (m *Manager) Close() error {
	m.stop(errClosing)
	m.wg.Wait()
	return m.dl.Close()
}

// cleanPartials deletes partial files whose download is finished, cancelled
// or unknown.
func (m *Manager) cleanPartials() {
	entries, err := fs.ReadDir(m.dl.FS(), ".")
	if err != nil {
		return
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".partial")
		if !ok {
			continue
		}
		var state string
		err := m.db.QueryRow(`SELECT state FROM downloads WHERE id = ?`, id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (state == StateDone || state == StateCancelled) {
			f, err := m.dl.OpenFile(e.Name(), os.O_RDWR, 0)
			if err != nil {
				continue
			}
			if library.TryLock(f) == nil { // nobody is writing it
				_ = m.dl.Remove(e.Name())
			}
			f.Close()
		}
	}
}

const downloadColumns = `id, name, url, repo, file, expected_sha256, server_sha256, total, done_bytes, state, error,
	model_id, created_at, updated_at, projector_of`

func scanDownload(s interface{ Scan(...any) error }) (Download, error) {
	var d Download
	var created, updated int64
	err := s.Scan(&d.ID, &d.Name, &d.URL, &d.Repo, &d.File, &d.ExpectedSHA256, &d.ServerSHA256, &d.Total, &d.Done,
		&d.State, &d.Error, &d.ModelID, &created, &updated, &d.ProjectorOf)
	d.CreatedAt, d.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	d.Verified = d.ExpectedSHA256 != "" || d.ServerSHA256 != ""
	return d, err
}

// Get returns the download with the id.
func (m *Manager) Get(ctx context.Context, id string) (Download, error) {
	d, err := scanDownload(m.db.QueryRowContext(ctx, `SELECT `+downloadColumns+` FROM downloads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Download{}, fmt.Errorf("download %s: %w", id, library.ErrNotFound)
	}
	if err != nil {
		return Download{}, fmt.Errorf("download %s: %w", id, err)
	}
	return d, nil
}

// List returns all downloads, newest first.
func (m *Manager) List(ctx context.Context) ([]Download, error) {
	return m.query(ctx, `SELECT `+downloadColumns+` FROM downloads ORDER BY created_at DESC, id`)
}

func (m *Manager) query(ctx context.Context, q string, args ...any) ([]Download, error) {
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list downloads: %w", err)
	}
	defer rows.Close()
	var out []Download
	for rows.Next() {
		d, err := scanDownload(rows)
		if err != nil {
			return nil, fmt.Errorf("list downloads: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Start begins downloading t, or continues the unfinished download of the
// same URL if there is one, and returns at once. Use Wait to block until it
// ends.
func (m *Manager) Start(ctx context.Context, t Target) (Download, error) {
	if t.URL == "" || t.Name == "" {
		return Download{}, errors.New("download: target has no URL or name")
	}
	m.startMu.Lock()
	defer m.startMu.Unlock()
	existing, err := m.query(ctx, `SELECT `+downloadColumns+` FROM downloads
		WHERE url = ? AND state IN ('queued', 'running', 'paused', 'failed') ORDER BY created_at DESC LIMIT 1`, t.URL)
	if err != nil {
		return Download{}, err
	}
	if len(existing) == 1 {
		d := existing[0]
		// A newer expectation (the catalog learnt a hash) wins.
		if t.SHA256 != "" && t.SHA256 != d.ExpectedSHA256 {
			if _, err := m.db.ExecContext(ctx, `UPDATE downloads SET expected_sha256 = ? WHERE id = ?`, t.SHA256, d.ID); err != nil {
				return Download{}, fmt.Errorf("download %s: %w", d.ID, err)
			}
		}
		return m.Resume(ctx, d.ID)
	}
	if err := m.checkSpace(t.Size); err != nil {
		return Download{}, err
	}
	now := m.now().UnixMilli()
	d := Download{ID: uuid.NewString(), Name: t.Name, URL: t.URL, Repo: t.Repo, File: t.File,
		ExpectedSHA256: t.SHA256, Total: t.Size, State: StateQueued,
		CreatedAt: time.UnixMilli(now), UpdatedAt: time.UnixMilli(now)}
	if !t.SizeExact {
		d.Total = 0 // the server will say
	}
	_, err = m.db.ExecContext(ctx, `INSERT INTO downloads (id, name, url, repo, file, expected_sha256, total, state,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Name, d.URL, d.Repo, d.File, d.ExpectedSHA256, d.Total, d.State, now, now)
	if err != nil {
		return Download{}, fmt.Errorf("record download: %w", err)
	}
	if err := m.recordProjector(ctx, d, t); err != nil {
		return Download{}, err
	}
	m.launch(d)
	return d, nil
}

func (m *Manager) checkSpace(size int64) error {
	if size <= 0 {
		return nil
	}
	free, err := library.FreeSpace(m.lib.DownloadsDir())
	if err != nil || free < 0 {
		return nil
	}
	if free < size+m.opts.MinFree {
		return fmt.Errorf("%w: the download needs %s, %s free", library.ErrNoSpace,
			events.FormatBytes(size+m.opts.MinFree), events.FormatBytes(free))
	}
	return nil
}

// Resume continues a paused, failed, queued or interrupted download.
func (m *Manager) Resume(ctx context.Context, id string) (Download, error) {
	d, err := m.Get(ctx, id)
	if err != nil {
		return Download{}, err
	}
	switch d.State {
	case StateDone, StateCancelled:
		return d, nil
	}
	m.mu.Lock()
	_, running := m.jobs[id]
	m.mu.Unlock()
	if running {
		return d, nil
	}
	if err := m.setState(ctx, id, StateQueued, ""); err != nil {
		return Download{}, err
	}
	d.State, d.Error = StateQueued, ""
	m.launch(d)
	return d, nil
}

// ResumeAll continues every download that was queued or running when the
// process last stopped (the desktop app calls it at start).
func (m *Manager) ResumeAll(ctx context.Context) ([]Download, error) {
	ds, err := m.query(ctx, `SELECT `+downloadColumns+` FROM downloads WHERE state IN ('queued', 'running') ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i], err = m.Resume(ctx, ds[i].ID); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// Pause stops a running download; its partial file stays for Resume.
func (m *Manager) Pause(ctx context.Context, id string) error {
	if m.stopJob(id, ErrPaused) {
		return nil
	}
	d, err := m.Get(ctx, id)
	if err != nil {
		return err
	}
	if d.State == StateQueued || d.State == StateRunning || d.State == StateFailed {
		return m.setState(ctx, id, StatePaused, "")
	}
	return nil
}

// Cancel stops a download and deletes its partial file.
func (m *Manager) Cancel(ctx context.Context, id string) error {
	if m.stopJob(id, ErrCancelled) {
		return nil
	}
	d, err := m.Get(ctx, id)
	if err != nil {
		return err
	}
	if d.State == StateDone {
		return nil
	}
	if err := m.dl.Remove(partialName(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cancel download: %w", err)
	}
	return m.setState(ctx, id, StateCancelled, "")
}

// stopJob cancels a running job with cause and waits for it to end.
func (m *Manager) stopJob(id string, cause error) bool {
	m.mu.Lock()
	j := m.jobs[id]
	m.mu.Unlock()
	if j == nil {
		return false
	}
	j.cancel(cause)
	<-j.done
	return true
}

// Wait blocks until the download ends (done, failed, paused or cancelled)
// in this process, or ctx ends, and returns its state and why it stopped
// (nil when it is done, or when it was not running here).
func (m *Manager) Wait(ctx context.Context, id string) (Download, error) {
	m.mu.Lock()
	j := m.jobs[id]
	m.mu.Unlock()
	var jobErr error
	if j != nil {
		select {
		case <-j.done:
			jobErr = j.err
		case <-ctx.Done():
			return Download{}, ctx.Err()
		}
	}
	d, err := m.Get(context.WithoutCancel(ctx), id)
	if err != nil {
		return d, err
	}
	if jobErr == nil && d.State == StateDone {
		jobErr = m.waitProjectors(ctx, id)
	}
	return d, jobErr
}

// Held returns how many bytes of a download lie in its partial file (0
// when there is none): what a resume would start from.
func (m *Manager) Held(id string) int64 {
	fi, err := m.dl.Stat(partialName(id))
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (m *Manager) setState(ctx context.Context, id, state, errText string) error {
	_, err := m.db.ExecContext(ctx, `UPDATE downloads SET state = ?, error = ?, updated_at = ? WHERE id = ?`,
		state, errText, m.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("download %s: %w", id, err)
	}
	return nil
}

// launch runs d in the background.
func (m *Manager) launch(d Download) {
	ctx, cancel := context.WithCancelCause(m.base)
	j := &job{cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if _, dup := m.jobs[d.ID]; dup {
		m.mu.Unlock()
		cancel(nil)
		return
	}
	m.jobs[d.ID] = j
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(j.done)
		defer func() {
			m.mu.Lock()
			delete(m.jobs, d.ID)
			m.mu.Unlock()
			cancel(nil)
		}()
		j.err = m.run(ctx, d)
	}()
}

// run performs one download to its end, records the outcome and returns
// why it stopped (nil when done).
func (m *Manager) run(ctx context.Context, d Download) error {
	// Recording the outcome must work even when ctx was cancelled.
	bg := context.WithoutCancel(ctx)
	meter := events.NewMeter(m.emit, events.TopicProgress, events.Progress{
		ID: d.ID, Kind: "download", Name: d.Name, Total: d.Total, State: StateQueued})
	meter.State(StateQueued, "")
	select {
	case m.sem <- struct{}{}:
		defer func() { <-m.sem }()
	case <-ctx.Done():
		return m.finish(bg, d, meter, context.Cause(ctx))
	}
	if err := m.setState(bg, d.ID, StateRunning, ""); err != nil {
		meter.State(StateFailed, err.Error())
		return err
	}
	f := &fetcher{
		client: m.opts.Client, dir: m.dl, dirPath: m.lib.DownloadsDir(), stall: m.opts.StallTimeout,
		maxFailures: m.opts.MaxFailures, maxUnresolved: m.opts.MaxUnresolved, backoffBase: m.opts.BackoffBase, backoffMax: m.opts.BackoffMax,
		minFree: m.opts.MinFree, meter: meter,
		save: func(st fetchState) {
			_, _ = m.db.ExecContext(bg, `UPDATE downloads SET etag = ?, last_modified = ?, server_sha256 = ?, total = ?,
				done_bytes = ?, updated_at = ? WHERE id = ?`,
				st.ETag, st.LastModified, st.ServerSHA, st.Total, st.Done, m.now().UnixMilli(), d.ID)
		},
	}
	st, err := m.loadState(bg, d.ID)
	if err != nil {
		return m.finish(bg, d, meter, err)
	}
	var parentModel string
	if d.ProjectorOf != "" {
		if parentModel, err = m.projectorParent(bg, d); parentModel == "" {
			meter.State(StateQueued, "")
			return err // not yet: the model's download launches it when done
		}
	}
	res, err := f.run(ctx, fetchSpec{ID: d.ID, URL: d.URL, Name: d.Name, ExpectSHA: d.ExpectedSHA256}, st)
	if err != nil {
		return m.finish(bg, d, meter, err)
	}
	meter.State("verifying", "")
	install := m.install
	if d.ProjectorOf != "" {
		install = func(ctx context.Context, d Download, digest string) (*library.Model, error) {
			return m.lib.AttachProjectorDownload(ctx, parentModel, partialName(d.ID), digest)
		}
	}
	model, err := install(bg, d, res.SHA256)
	if err != nil {
		return m.finish(bg, d, meter, err)
	}
	_, err = m.db.ExecContext(bg, `UPDATE downloads SET state = ?, error = '', model_id = ?, done_bytes = ?, total = ?,
		updated_at = ? WHERE id = ?`, StateDone, model.ID, res.Size, res.Size, m.now().UnixMilli(), d.ID)
	if err != nil {
		meter.State(StateFailed, err.Error())
		return fmt.Errorf("record download: %w", err)
	}
	meter.SetTotal(res.Size)
	meter.Set(res.Size)
	meter.State(StateDone, "")
	m.launchProjectors(bg, d.ID)
	return nil
}

// install hands a verified download with the given digest to the library
// and returns the model that now answers to the download's name.
func (m *Manager) install(ctx context.Context, d Download, digest string) (*library.Model, error) {
	// A process killed between the import below and recording it leaves
	// the model imported; the download runs again, and these bytes under
	// this name are that model, not a second one.
	if prev, err := m.lib.Find(ctx, d.Name); err == nil && prev.Digest == digest {
		_ = m.dl.Remove(partialName(d.ID))
		return prev, nil
	}
	name := d.Name
	if free, err := m.lib.FreeName(ctx, name); err == nil {
		name = free
	}
	imp, err := m.lib.ImportDownload(ctx, partialName(d.ID), digest,
		library.ImportOptions{Name: name, Source: d.URL, ProgressID: d.ID})
	if err != nil {
		return nil, err
	}
	// The same bytes were already a model under another name: give it this
	// name too, so that `ir run <what was pulled>` works.
	if imp.Existing && !strings.EqualFold(imp.Model.Name, d.Name) {
		if _, err := m.lib.Alias(ctx, imp.Model.ID, d.Name); err != nil && !errors.Is(err, library.ErrNameTaken) {
			return nil, err
		}
	}
	return imp.Model, nil
}

func (m *Manager) loadState(ctx context.Context, id string) (fetchState, error) {
	var st fetchState
	err := m.db.QueryRowContext(ctx, `SELECT etag, last_modified, server_sha256, total, done_bytes FROM downloads WHERE id = ?`, id).
		Scan(&st.ETag, &st.LastModified, &st.ServerSHA, &st.Total, &st.Done)
	if err != nil {
		return st, fmt.Errorf("download %s: %w", id, err)
	}
	return st, nil
}

// finish records why a download stopped and returns err.
func (m *Manager) finish(ctx context.Context, d Download, meter *events.Meter, err error) error {
	state, text := StateFailed, err.Error()
	switch {
	case errors.Is(err, library.ErrBusy):
		// Another process is running this download; its state is its own.
		meter.State(StateRunning, text)
		return fmt.Errorf("%w (another process is downloading it)", err)
	case errors.Is(err, ErrPaused):
		state, text = StatePaused, ""
	case errors.Is(err, ErrCancelled):
		state, text = StateCancelled, ""
		_ = m.dl.Remove(partialName(d.ID))
	case errors.Is(err, errClosing):
		state, text = StateQueued, ""
	}
	if serr := m.setState(ctx, d.ID, state, text); serr != nil {
		text += "; " + serr.Error()
	}
	meter.State(state, text)
	return err
}
