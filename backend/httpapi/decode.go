package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"inferenceruntime/backend/service"
)

// decodeBody reads one JSON object from the request into dst and reports
// what is wrong in words a client can act on: malformed JSON with its
// offset, a field of the wrong type by its path, a body over the limit
// (413). Unknown fields are ignored, as both dialects' servers do. Once the
// body is read, the connection's read deadline is lifted so that a long
// generation is not cut by ReadTimeout.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{status: http.StatusRequestEntityTooLarge, msg: bodyTooLarge(mbe.Limit)}
		}
		return &apiError{status: http.StatusBadRequest, msg: "reading the request body failed: " + err.Error()}
	}
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	if len(bytes.TrimSpace(data)) == 0 {
		return &apiError{status: http.StatusBadRequest, msg: "the request body is empty; send a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &apiError{status: http.StatusBadRequest, msg: "malformed JSON: unexpected data after the JSON object"}
	}
	return nil
}

// jsonError turns a decoding error into a 400 that names the field.
func jsonError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		return badRequest(fe.field, "%s", fe.msg)
	case errors.As(err, &se):
		return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{status: http.StatusBadRequest, msg: "malformed JSON: the body ends in the middle of a value"}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("the request body must be a JSON object, not %s", te.Value)}
		}
		return badRequest(jsonPath(field), "expected %s, got %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	return &apiError{status: http.StatusBadRequest, msg: "invalid request: " + err.Error()}
}

// jsonPath drops from a decoder's field path the names of embedded Go
// structs (ollamaCommon.options.top_k -> options.top_k): the client knows
// only the JSON names, which are all snake_case.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	kept := parts[:0]
	for _, p := range parts {
		if strings.ToLower(p) == p {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return field
	}
	return strings.Join(kept, ".")
}

// jsonKind names Go kinds the way a JSON client thinks of them.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "an array"
	case k == "map", k == "struct", k == "ptr":
		return "an object"
	}
	return k
}

// fieldError is a decoding error of one of our own JSON types.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// stopList is "stop": a string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*s = nil
		return nil
	case len(data) > 0 && data[0] == '"':
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return &fieldError{"stop", "malformed string"}
		}
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return &fieldError{"stop", "expected a string or an array of strings"}
	}
	*s = many
	return nil
}

// keepAlive is Ollama's keep_alive: a number of seconds or a duration
// string ("5m", "1h", "0", "-1"); negative keeps the model loaded.
type keepAlive struct {
	set bool
	d   time.Duration
}

func (k *keepAlive) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*k = keepAlive{}
		return nil
	}
	var d time.Duration
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return &fieldError{"keep_alive", "malformed string"}
		}
		var err error
		if d, err = parseKeepAlive(s); err != nil {
			return &fieldError{"keep_alive", err.Error()}
		}
	} else {
		var secs float64
		if err := json.Unmarshal(data, &secs); err != nil {
			return &fieldError{"keep_alive", "expected a duration such as \"5m\" or a number of seconds"}
		}
		if math.IsNaN(secs) || math.Abs(secs) > 1e9 {
			return &fieldError{"keep_alive", "out of range"}
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		d = service.KeepForever
	}
	*k = keepAlive{set: true, d: d}
	return nil
}

func parseKeepAlive(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(secs) || math.Abs(secs) > 1e9 {
			return 0, errors.New("out of range")
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"5m\" or a number of seconds", s)
	}
	return d, nil
}

// ptr returns the keep-alive for the runner: nil when not given.
func (k keepAlive) ptr() *time.Duration {
	if !k.set {
		return nil
	}
	d := k.d
	return &d
}
