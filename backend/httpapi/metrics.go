package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"inferenceruntime/backend/service"
)

// metrics are the server's counters, exposed in the Prometheus text format
// at /metrics. The exposition is written by hand: a few counters and
// histograms do not need a client library.
type metrics struct {
	mu        sync.Mutex
	requests  map[[2]string]uint64 // endpoint, status code
	durations map[string]*histogram
	inFlight  int
	rejected  map[string]uint64 // reason
	promptTok map[string]uint64 // model
	genTok    map[string]uint64 // model
	ttft      *histogram
	rate      *histogram
}

func newMetrics() *metrics {
	return &metrics{
		requests: map[[2]string]uint64{}, durations: map[string]*histogram{},
		rejected: map[string]uint64{}, promptTok: map[string]uint64{}, genTok: map[string]uint64{},
		ttft: newHistogram([]float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
		rate: newHistogram([]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000}),
	}
}

// histogram is a cumulative Prometheus histogram.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, labels string) {
	var cum uint64
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, formatFloat(b), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, cum)
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", name, labels, formatFloat(h.sum), name, labels, h.n)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// knownEndpoints label request metrics; anything else counts as "other" so
// that scanning clients cannot grow the label set.
var knownEndpoints = []string{
	"/", "/api/health", "/api/version", "/metrics", "/api/generate", "/api/chat", "/api/tags", "/api/show",
	"/api/ps", "/api/copy", "/api/delete", "/api/pull", "/v1/chat/completions", "/v1/completions", "/v1/models",
}

func endpointLabel(path string) string {
	if slices.Contains(knownEndpoints, path) {
		return path
	}
	if strings.HasPrefix(path, "/v1/models/") {
		return "/v1/models/{model}"
	}
	return "other"
}

func (m *metrics) begin() {
	m.mu.Lock()
	m.inFlight++
	m.mu.Unlock()
}

func (m *metrics) end(endpoint string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inFlight--
	m.requests[[2]string{endpoint, strconv.Itoa(status)}]++
	h := m.durations[endpoint]
	if h == nil {
		h = newHistogram([]float64{0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300})
		m.durations[endpoint] = h
	}
	h.observe(d.Seconds())
}

func (m *metrics) reject(reason string) {
	m.mu.Lock()
	m.rejected[reason]++
	m.mu.Unlock()
}

// generation records a finished generation's tokens and speed.
func (m *metrics) generation(res service.GenerateResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	model := res.Model.Name
	m.promptTok[model] += uint64(res.Stats.PromptTokens)
	m.genTok[model] += uint64(res.Stats.GeneratedTokens)
	if res.Stats.GeneratedTokens > 0 {
		// Time to first token as the client sees it: queueing and loading
		// included.
		m.ttft.observe((res.QueueDuration + res.LoadDuration + res.Stats.TimeToFirst).Seconds())
	}
	if res.Stats.DecodeRate > 0 {
		m.rate.observe(res.Stats.DecodeRate)
	}
}

// labelValue escapes a Prometheus label value.
func labelValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (m *metrics) write(w io.Writer, runner *service.Runner) {
	running, waiting := runner.Load()
	loaded := runner.Loaded()

	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP ir_http_requests_total HTTP requests by endpoint and status code.")
	fmt.Fprintln(w, "# TYPE ir_http_requests_total counter")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "ir_http_requests_total{endpoint=\"%s\",code=\"%s\"} %d\n", labelValue(k[0]), k[1], m.requests[k])
	}
	fmt.Fprintln(w, "# HELP ir_http_request_duration_seconds Time to answer a request, streams included.")
	fmt.Fprintln(w, "# TYPE ir_http_request_duration_seconds histogram")
	for _, ep := range sortedKeys(m.durations) {
		m.durations[ep].write(w, "ir_http_request_duration_seconds", "endpoint=\""+labelValue(ep)+"\"")
	}
	fmt.Fprintln(w, "# HELP ir_http_requests_in_flight Requests being answered now.")
	fmt.Fprintln(w, "# TYPE ir_http_requests_in_flight gauge")
	fmt.Fprintf(w, "ir_http_requests_in_flight %d\n", m.inFlight)
	writeCounters(w, "ir_requests_rejected_total", "Generation requests refused for capacity.", "reason", m.rejected)
	writeCounters(w, "ir_prompt_tokens_total", "Prompt tokens of finished generations.", "model", m.promptTok)
	writeCounters(w, "ir_generated_tokens_total", "Tokens generated.", "model", m.genTok)
	fmt.Fprintln(w, "# HELP ir_time_to_first_token_seconds From the request to its first token, queueing and loading included.")
	fmt.Fprintln(w, "# TYPE ir_time_to_first_token_seconds histogram")
	m.ttft.write(w, "ir_time_to_first_token_seconds", "")
	fmt.Fprintln(w, "# HELP ir_generation_tokens_per_second Decode speed of each generation.")
	fmt.Fprintln(w, "# TYPE ir_generation_tokens_per_second histogram")
	m.rate.write(w, "ir_generation_tokens_per_second", "")
	fmt.Fprintln(w, "# HELP ir_requests_running Generations holding a slot.")
	fmt.Fprintln(w, "# TYPE ir_requests_running gauge")
	fmt.Fprintf(w, "ir_requests_running %d\n", running)
	fmt.Fprintln(w, "# HELP ir_queue_depth Generations waiting for a slot.")
	fmt.Fprintln(w, "# TYPE ir_queue_depth gauge")
	fmt.Fprintf(w, "ir_queue_depth %d\n", waiting)
	fmt.Fprintln(w, "# HELP ir_models_loaded Models in memory.")
	fmt.Fprintln(w, "# TYPE ir_models_loaded gauge")
	fmt.Fprintf(w, "ir_models_loaded %d\n", len(loaded))
	fmt.Fprintln(w, "# HELP ir_model_memory_bytes Estimated memory of each loaded model.")
	fmt.Fprintln(w, "# TYPE ir_model_memory_bytes gauge")
	for _, l := range loaded {
		fmt.Fprintf(w, "ir_model_memory_bytes{model=\"%s\"} %d\n", labelValue(l.Ref.Name), l.Memory)
	}
}

// writeCounters writes a counter with one label.
func writeCounters(w io.Writer, name, help, label string, values map[string]uint64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	for _, k := range sortedKeys(values) {
		fmt.Fprintf(w, "%s{%s=\"%s\"} %d\n", name, label, labelValue(k), values[k])
	}
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, s.runner)
}
