package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
)

// dialect is the API family a request belongs to; it decides the error
// format and a few status codes.
type dialect int

const (
	ollama dialect = iota
	openai
)

func dialectOf(r *http.Request) dialect {
	if strings.HasPrefix(r.URL.Path, "/v1/") || r.URL.Path == "/v1" {
		return openai
	}
	return ollama
}

// statusClientClosed is logged (never sent) when the client went away.
const statusClientClosed = 499

// apiError is an error with the HTTP status and, for OpenAI, the parameter
// it concerns.
type apiError struct {
	status int
	msg    string
	param  string
	code   string // OpenAI error code ("model_not_found", ...)
	// retryAfter, when set, is sent as Retry-After (seconds): the client
	// may try again then, as when every slot and queue place is taken.
	retryAfter int
}

// queueRetryAfter is the Retry-After of a request refused because every
// slot and queue place is taken: about one reply's time, after which a
// place has usually come free.
const queueRetryAfter = 1

func (e *apiError) Error() string { return e.msg }

func badRequest(param, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if param != "" {
		msg = param + ": " + msg
	}
	return &apiError{status: http.StatusBadRequest, msg: msg, param: param}
}

func bodyTooLarge(limit int64) string {
	return fmt.Sprintf("request body is larger than the limit of %d bytes", limit)
}

// classify turns an error from decoding, the runner or the library into a
// status and message for dialect d.
func classify(err error, d dialect) *apiError {
	var ae *apiError
	var inv *service.InvalidError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &inv):
		return &apiError{status: http.StatusBadRequest, msg: inv.Error(), param: inv.Field}
	case errors.Is(err, service.ErrModelNotFound), errors.Is(err, library.ErrNotFound):
		return &apiError{status: http.StatusNotFound, msg: modelNotFoundMsg(err), param: "model", code: "model_not_found"}
	case errors.Is(err, library.ErrBadName), errors.Is(err, library.ErrNameTaken):
		return &apiError{status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, service.ErrQueueFull):
		if d == openai {
			return &apiError{status: http.StatusTooManyRequests, msg: err.Error() + "; retry later", code: "rate_limit_exceeded", retryAfter: queueRetryAfter}
		}
		return &apiError{status: http.StatusServiceUnavailable, msg: err.Error() + "; retry later", retryAfter: queueRetryAfter}
	case errors.Is(err, service.ErrNoMemory), errors.Is(err, service.ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, errClientGone):
		return &apiError{status: statusClientClosed, msg: "request cancelled"}
	case errors.Is(err, library.ErrMissing):
		return &apiError{status: http.StatusNotFound, msg: err.Error(), param: "model", code: "model_not_found"}
	}
	return &apiError{status: http.StatusInternalServerError, msg: err.Error()}
}

func modelNotFoundMsg(err error) string {
	msg := err.Error()
	if !strings.Contains(msg, "not found") {
		msg = "model not found: " + msg
	}
	return msg + " (see the installed models with GET /api/tags or /v1/models)"
}

// writeError answers with status in the request's dialect:
// Ollama {"error": "..."}; OpenAI {"error": {"message", "type", "param", "code"}}.
func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeAPIError(w, r, &apiError{status: status, msg: msg})
}

func writeAPIError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if rw, ok := w.(*responseWriter); ok {
		rw.errorText = e.msg
		if e.status == statusClientClosed {
			rw.status = statusClientClosed
		}
	}
	if e.status == statusClientClosed {
		return // nobody to answer
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	var body any = map[string]string{"error": e.msg}
	if dialectOf(r) == openai {
		var param, code any
		if e.param != "" {
			param = e.param
		}
		if e.code != "" {
			code = e.code
		}
		body = map[string]any{"error": map[string]any{
			"message": e.msg, "type": openaiErrorType(e.status), "param": param, "code": code,
		}}
	}
	writeJSON(w, e.status, body)
}

func openaiErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "invalid_request_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// writeJSON answers with one JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encoding the response failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(DefaultWriteTimeout))
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
