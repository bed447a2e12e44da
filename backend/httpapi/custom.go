package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelfile"
	"inferenceruntime/backend/service"
)

// ollamaCreateRequest is the body of /api/create. A model comes FROM an
// installed model, or from an uploaded GGUF blob named in files; adapters
// are uploaded blobs too (POST /api/blobs/sha256:<hex> first). The older
// "modelfile" text is accepted, with names and blobs only, never paths.
type ollamaCreateRequest struct {
	Model      string                     `json:"model"`
	Name       string                     `json:"name"`
	From       string                     `json:"from"`
	Files      map[string]string          `json:"files"`
	Adapters   map[string]string          `json:"adapters"`
	Template   *string                    `json:"template"`
	System     *string                    `json:"system"`
	License    stopList                   `json:"license"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Messages   []modelfile.Message        `json:"messages"`
	Modelfile  string                     `json:"modelfile"`
	Quantize   string                     `json:"quantize"`
	Stream     *bool                      `json:"stream"`
}

// digestOf reads Ollama's "sha256:<hex>" digest form.
func digestOf(field, d string) (string, error) {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || !library.ValidDigest(hex) {
		return "", badRequest(field, "%q is not a digest of the form sha256:<64 lowercase hex digits>", d)
	}
	return hex, nil
}

// modelfile turns the request into a Modelfile.
func (c ollamaCreateRequest) modelfile() (*modelfile.File, error) {
	f := &modelfile.File{Lines: map[string]int{}}
	if c.Modelfile != "" {
		parsed, err := modelfile.Parse(c.Modelfile)
		if err != nil {
			return nil, badRequest("modelfile", "%v", err)
		}
		f = parsed
	}
	if c.Quantize != "" {
		return nil, badRequest("quantize", "quantizing is not supported; create from a model of the type you want")
	}
	files := sortedKeys(c.Files)
	switch {
	case c.From != "" && c.Files[c.From] != "":
		d, err := digestOf("files."+c.From, c.Files[c.From])
		if err != nil {
			return nil, err
		}
		f.From = service.BlobRef(d)
	case c.From != "":
		f.From = c.From
	case len(files) == 1:
		d, err := digestOf("files."+files[0], c.Files[files[0]])
		if err != nil {
			return nil, err
		}
		f.From = service.BlobRef(d)
	case len(files) > 1:
		return nil, badRequest("files", "name the one GGUF model file to use in from (split and safetensors models are not supported)")
	}
	if f.From == "" {
		return nil, badRequest("from", "is required: an installed model, or a GGUF file uploaded as a blob and named in files")
	}
	for _, name := range sortedKeys(c.Adapters) {
		d, err := digestOf("adapters."+name, c.Adapters[name])
		if err != nil {
			return nil, err
		}
		f.Adapters = append(f.Adapters, modelfile.Adapter{Path: service.BlobRef(d), Scale: 1})
	}
	if c.Template != nil {
		f.Template = c.Template
	}
	if c.System != nil {
		f.System = c.System
	}
	f.License = append(f.License, c.License...)
	for _, k := range sortedKeys(c.Parameters) {
		if err := f.Parameters.SetJSON(k, c.Parameters[k]); err != nil {
			return nil, badRequest("parameters."+k, "%v", err)
		}
	}
	for i, m := range c.Messages {
		if !isOneOf(m.Role, modelfile.Roles) {
			return nil, badRequest("messages", "message %d: role %q is not one of %s", i, m.Role, strings.Join(modelfile.Roles, ", "))
		}
	}
	if len(c.Messages) > 0 {
		f.Messages = c.Messages
	}
	return f, nil
}

func (s *Server) handleOllamaCreate(w http.ResponseWriter, r *http.Request) {
	var req ollamaCreateRequest
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
	f, err := req.modelfile()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.svc.CreateModel(r.Context(), name, f, service.CreateOptions{}); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Stream != nil && !*req.Stream {
		writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, st := range []string{"parsing modelfile", "using existing layers", "writing manifest", "success"} {
		_ = enc.Encode(map[string]string{"status": st})
	}
}

// handleBlob answers HEAD (is the blob stored?) and POST (store these bytes,
// which must have the digest) on /api/blobs/{digest}.
func (s *Server) handleBlob(w http.ResponseWriter, r *http.Request) {
	d, err := digestOf("digest", r.PathValue("digest"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.Method == http.MethodHead {
		have, err := s.svc.Library.HasBlob(d)
		switch {
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		case have:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
		return
	}
	// A model file takes longer to send than a request should; the
	// digest, not a deadline, tells a complete upload.
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	if _, _, err := s.svc.Library.PutBlob(r.Context(), r.Body, d); err != nil {
		if errors.Is(err, library.ErrBadDigest) {
			s.fail(w, r, badRequest("digest", "%v", err))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// handleLoraList lists the server's adapters (`ir serve --lora`) as
// llama-server does: [{id, path, scale}].
func (s *Server) handleLoraList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.runner.LoraAdapters())
}

// handleLoraSet sets the adapters' global scales: [{id, scale}], the ones
// not listed off.
func (s *Server) handleLoraSet(w http.ResponseWriter, r *http.Request) {
	var scales []service.LoraScale
	if err := decodeBody(w, r, &scales); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.runner.SetLoraScales(scales); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.runner.LoraAdapters())
}

// customShow is what /api/show says of a custom model beyond the base's:
// its Modelfile, parameters (its own after the template's stops), system
// prompt, license, messages and adapters.
func customShow(ref service.ModelRef, out map[string]any) {
	c := ref.Custom
	if c == nil {
		return
	}
	out["modelfile"] = "# Made by Inference Runtime from a Modelfile\n" + modelfile.Format(c)
	params := c.Parameters.Lines()
	if p, _ := out["parameters"].(string); p != "" {
		params = append(params, p)
	}
	out["parameters"] = strings.Join(params, "\n")
	if c.Template != nil {
		out["template"] = *c.Template
	}
	if c.System != nil {
		out["system"] = *c.System
	}
	if len(c.License) > 0 {
		out["license"] = strings.Join(c.License, "\n")
	}
	if len(c.Messages) > 0 {
		out["messages"] = c.Messages
	}
	ads := []service.AdapterRef{}
	ads = append(ads, ref.Adapters...)
	out["adapters"] = ads
	if d, ok := out["details"].(ollamaDetails); ok {
		d.ParentModel = c.From
		out["details"] = d
	}
}
