package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/model/synth"
)

// tinyShape is a small random-weight llama: fast enough for every test.
// slowShape is wide enough that a long generation takes a good while, for
// cancellation tests.
var (
	tinyShape = synth.Shape{Name: "tiny", Arch: "llama", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FF: 128,
		Vocab: 384, Context: 512, RopeBase: 10000, Eps: 1e-5}
	slowShape = synth.Shape{Name: "slow", Arch: "llama", Embd: 256, Layers: 6, Heads: 4, KVHeads: 2, FF: 1024,
		Vocab: 384, Context: 2048, RopeBase: 10000, Eps: 1e-5}
)

var (
	modelsOnce sync.Once
	modelsDir  string
	modelsErr  error
)

// synthModels writes the test models once per test binary.
func synthModels(t testing.TB) string {
	t.Helper()
	modelsOnce.Do(func() {
		modelsDir, modelsErr = os.MkdirTemp("", "httpapi-models-")
		if modelsErr != nil {
			return
		}
		for _, m := range []struct {
			file  string
			shape synth.Shape
			seed  uint64
		}{{"tiny.gguf", tinyShape, 1}, {"tiny2.gguf", tinyShape, 2}, {"slow.gguf", slowShape, 3}} {
			p, err := synth.NewPlan(m.shape, "F32")
			if err != nil {
				modelsErr = err
				return
			}
			if modelsErr = p.WriteFile(filepath.Join(modelsDir, m.file), m.seed); modelsErr != nil {
				return
			}
		}
	})
	if modelsErr != nil {
		t.Fatalf("synthetic models: %v", modelsErr)
	}
	return modelsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if modelsDir != "" {
		os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

// env is a running server over a fresh data directory with the synthetic
// models imported as "tiny", "tiny2" and "slow".
type env struct {
	t      testing.TB
	svc    *service.Service
	runner *service.Runner
	srv    *Server
	url    string
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOptions struct {
	cfg      Config
	runner   service.RunnerOptions
	storeURL string
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	dir := synthModels(t)
	ctx := context.Background()
	svc, err := service.Open(ctx, service.Options{Home: t.TempDir(), StoreURL: o.storeURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	for _, name := range []string{"tiny", "tiny2", "slow"} {
		if _, err := svc.ImportModel(ctx, filepath.Join(dir, name+".gguf"), library.ImportOptions{Name: name, InPlace: true}); err != nil {
			t.Fatal(err)
		}
	}
	if o.runner.Threads == 0 {
		o.runner.Threads = 1
	}
	if o.runner.MemoryLimit == 0 {
		o.runner.MemoryLimit = -1
	}
	runner := svc.NewRunner(false, o.runner)
	t.Cleanup(func() { runner.Close() })
	logs := &syncBuffer{}
	o.cfg.Logger = zerolog.New(logs)
	srv, err := New(o.cfg, svc, runner)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &env{t: t, svc: svc, runner: runner, srv: srv, url: srv.URL(), logs: logs}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

// do sends a request; body may be a string (sent as is) or a value sent as
// JSON. Headers come in pairs.
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// lines splits an NDJSON body into objects.
func ndjson(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// sse splits a server-sent event body into the data of each event; the
// last must be [DONE].
func sse(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %d %q has no data field", i, ev)
		}
		if data == "[DONE]" {
			if i != len(events)-1 {
				t.Fatalf("[DONE] is event %d of %d", i, len(events))
			}
			return out
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("event %d is not JSON: %v\n%s", i, err, data)
		}
		out = append(out, m)
	}
	t.Fatalf("the stream does not end with [DONE]:\n%s", body)
	return nil
}

// errorMessage returns the error text in either dialect's format.
func errorMessage(t *testing.T, r response) string {
	t.Helper()
	m := r.json(t)
	switch e := m["error"].(type) {
	case string:
		return e
	case map[string]any:
		msg, _ := e["message"].(string)
		return msg
	}
	t.Fatalf("no error in %s", r.body)
	return ""
}

// waitFor polls cond until it holds or a generous deadline passes (a hang
// guard, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
