package httpapi

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"time"
)

// responseWriter records the status and size of a response for the log and
// the metrics. Unwrap lets http.ResponseController reach the connection
// (flushes, write deadlines).
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	// Filled by the handlers for the log line.
	model                 string
	promptTok, genTok     int
	stream                bool
	doneReason, errorText string
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// note returns the request's responseWriter, to add facts to its log line.
func note(w http.ResponseWriter) *responseWriter {
	if rw, ok := w.(*responseWriter); ok {
		return rw
	}
	return &responseWriter{} // not observed (a test calling a handler directly)
}

// observe is the outermost layer: it turns a panic into a 500 (the process
// keeps serving), counts the request in the metrics and logs one JSON line.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &responseWriter{ResponseWriter: w}
		s.metrics.begin()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					rw.status = statusClientClosed
				} else {
					s.log.Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Str("path", r.URL.Path).Msg("handler panic")
					if rw.status == 0 {
						writeError(rw, r, http.StatusInternalServerError, "internal error")
					}
				}
			}
			if rw.status == 0 {
				rw.status = http.StatusOK
			}
			if rw.status == http.StatusOK && rw.doneReason == "cancelled" {
				rw.status = statusClientClosed
			}
			d := time.Since(start)
			ep := endpointLabel(r.URL.Path)
			s.metrics.end(ep, rw.status, d)
			ev := s.log.Info()
			if rw.status >= 500 && rw.status != statusClientClosed {
				ev = s.log.Error()
			} else if rw.status >= 400 {
				ev = s.log.Warn()
			}
			ev = ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", rw.status).
				Int64("bytes", rw.bytes).Dur("duration", d).Str("remote", r.RemoteAddr)
			if rw.model != "" {
				ev = ev.Str("model", rw.model).Int("prompt_tokens", rw.promptTok).Int("generated_tokens", rw.genTok).
					Bool("stream", rw.stream)
			}
			if rw.doneReason != "" {
				ev = ev.Str("done_reason", rw.doneReason)
			}
			if rw.errorText != "" {
				ev = ev.Str("error", rw.errorText)
			}
			ev.Msg("request")
		}()
		next.ServeHTTP(rw, r)
	})
}
