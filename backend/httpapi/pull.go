package httpapi

import (
	"errors"
	"net/http"
	"time"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelstore"
)

// pullPoll is how often a pull stream reports progress.
const pullPoll = 250 * time.Millisecond

type pullProgress struct {
	Status    string `json:"status"`
	Digest    string `json:"digest,omitempty"`
	Total     int64  `json:"total,omitempty"`
	Completed int64  `json:"completed,omitempty"`
}

// handleOllamaPull downloads a model through the store (catalog names,
// org/repo[:QUANT], URLs) into the library. The stream reports progress
// every pullPoll; a client that goes away does not stop the download,
// which stays visible in the app's downloads.
func (s *Server) handleOllamaPull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string `json:"model"`
		Name   string `json:"name"`
		Stream *bool  `json:"stream"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if name == "" {
		s.fail(w, r, badRequest("model", "is required"))
		return
	}
	note(w).model = name
	ctx := r.Context()
	res, err := s.svc.Pull(ctx, name)
	if err != nil {
		s.fail(w, r, pullError(err))
		return
	}
	var st *streamer
	if req.Stream == nil || *req.Stream {
		st = newStreamer(w, false, s.cfg.WriteTimeout)
		st.send(pullProgress{Status: "pulling manifest"})
	}
	if res.Model == nil {
		id := res.Download.ID
		done := make(chan error, 1)
		go func() {
			_, err := s.svc.WaitDownload(ctx, id)
			done <- err
		}()
		tick := time.NewTicker(pullPoll)
		defer tick.Stop()
		var last pullProgress
		digest := ""
		if res.Target.SHA256 != "" {
			digest = "sha256:" + res.Target.SHA256
		}
	wait:
		for {
			select {
			case err = <-done:
				break wait
			case <-tick.C:
				if st == nil {
					continue
				}
				d, gerr := s.svc.Downloads.Get(ctx, id)
				if gerr != nil {
					continue
				}
				p := pullProgress{Status: "pulling " + res.Target.File, Digest: digest, Total: d.Total, Completed: d.Done}
				if p != last {
					if st.send(p) != nil {
						return // client gone; the download goes on
					}
					last = p
				}
			}
		}
		if err == nil {
			if d, gerr := s.svc.Downloads.Get(ctx, id); gerr == nil && d.State != modelstore.StateDone {
				err = errors.New("download " + d.State + ": " + d.Error)
			}
		}
		if err != nil {
			s.failStream(w, r, st, pullError(err))
			return
		}
		if st != nil {
			st.send(pullProgress{Status: "verifying sha256 digest"})
			st.send(pullProgress{Status: "writing manifest"})
		}
	}
	if st != nil {
		st.send(pullProgress{Status: "success"})
		return
	}
	writeJSON(w, http.StatusOK, pullProgress{Status: "success"})
}

// pullError maps store errors: nothing to pull is a 404, a malformed
// reference a 400.
func pullError(err error) error {
	var he *modelstore.HTTPError
	if errors.Is(err, modelstore.ErrNoMatch) || errors.As(err, &he) && he.Status == http.StatusNotFound {
		return &apiError{status: http.StatusNotFound, msg: "pull: " + err.Error()}
	}
	if errors.Is(err, modelstore.ErrBadRef) || errors.Is(err, library.ErrBadName) {
		return &apiError{status: http.StatusBadRequest, msg: "pull: " + err.Error()}
	}
	return &apiError{status: http.StatusInternalServerError, msg: "pull: " + err.Error()}
}
