package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// errClientGone means a write to the client failed: it closed the
// connection or stopped reading. That is the client cancelling its request,
// which the server may notice this way before the request's context ends.
var errClientGone = errors.New("the client went away")

// streamer writes a streamed response: NDJSON lines (Ollama) or
// server-sent events (OpenAI). Headers go out with the first message, so
// errors found before it (queue full, model failed to load) still get
// their own status. Each write has its own deadline: a client that stops
// reading is dropped, while one that reads may stream for as long as the
// generation lasts.
type streamer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	sse     bool
	timeout time.Duration
	started bool
}

func newStreamer(w http.ResponseWriter, sse bool, timeout time.Duration) *streamer {
	return &streamer{w: w, rc: http.NewResponseController(w), sse: sse, timeout: timeout}
}

func (s *streamer) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	if s.sse {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Content-Type", "application/x-ndjson")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// send writes one message and flushes it to the client.
func (s *streamer) send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode stream message: %w", err)
	}
	if s.sse {
		data = append(append([]byte("data: "), data...), '\n', '\n')
	} else {
		data = append(data, '\n')
	}
	return s.write(data)
}

func (s *streamer) write(data []byte) error {
	s.start()
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.w.Write(data); err != nil {
		return fmt.Errorf("%w: write: %v", errClientGone, err)
	}
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("%w: flush: %v", errClientGone, err)
	}
	return nil
}

// finish ends an OpenAI stream: the message with the finish reason, the
// usage message when the client asked for it, then [DONE].
func (s *streamer) finish(last, usage any, includeUsage bool) {
	if s.send(last) != nil {
		return
	}
	if includeUsage && s.send(usage) != nil {
		return
	}
	s.done()
}

// done ends a server-sent event stream.
func (s *streamer) done() error {
	if !s.sse {
		return nil
	}
	return s.write([]byte("data: [DONE]\n\n"))
}
