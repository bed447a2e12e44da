package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"

	"inferenceruntime/backend/service"
)

// embedInput is an embedding input: a string, an array of strings, an
// array of token ids or an array of such arrays (OpenAI's forms; Ollama
// sends the first two).
type embedInput struct {
	texts  []string
	tokens [][]int32
}

func (in *embedInput) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	var one string
	if json.Unmarshal(data, &one) == nil {
		in.texts = []string{one}
		return nil
	}
	var many []string
	if json.Unmarshal(data, &many) == nil {
		in.texts = many
		return nil
	}
	var ids []int32
	if json.Unmarshal(data, &ids) == nil {
		in.tokens = [][]int32{ids}
		return nil
	}
	var lists [][]int32
	if json.Unmarshal(data, &lists) == nil {
		in.tokens = lists
		return nil
	}
	return &fieldError{"input", "expected a string, an array of strings, an array of token ids or an array of such arrays"}
}

// request fills the inputs of an embedding request; it refuses a request
// without any.
func (in embedInput) request(req *service.EmbedRequest, field string) error {
	if len(in.texts) == 0 && len(in.tokens) == 0 {
		return badRequest(field, "is missing or empty")
	}
	req.Texts, req.Tokens = in.texts, in.tokens
	return nil
}

// Pooling other than one vector per input does not fit these endpoints'
// shapes.
func checkPooling(p string) error {
	if p == "none" {
		return badRequest("pooling", "none gives one vector per token, which this endpoint cannot return; use mean, cls or last")
	}
	return nil
}

type ollamaEmbedRequest struct {
	Model      string        `json:"model"`
	Input      embedInput    `json:"input"`
	Truncate   *bool         `json:"truncate"`
	Dimensions int           `json:"dimensions"`
	Pooling    string        `json:"pooling"` // an extension: mean, cls or last
	Options    ollamaOptions `json:"options"`
	KeepAlive  keepAlive     `json:"keep_alive"`
}

type ollamaEmbedResponse struct {
	Model           string      `json:"model"`
	Embeddings      [][]float32 `json:"embeddings"`
	TotalDuration   int64       `json:"total_duration"`
	LoadDuration    int64       `json:"load_duration"`
	PromptEvalCount int         `json:"prompt_eval_count"`
}

// handleOllamaEmbed is /api/embed. Like Ollama's, truncate defaults to true.
func (s *Server) handleOllamaEmbed(w http.ResponseWriter, r *http.Request) {
	var req ollamaEmbedRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sreq := service.EmbedRequest{Model: req.Model, Truncate: req.Truncate == nil || *req.Truncate,
		Dimensions: req.Dimensions, Pooling: req.Pooling, NumCtx: numCtx(req.Options), KeepAlive: req.KeepAlive.ptr()}
	err := req.Input.request(&sreq, "input")
	if err == nil {
		err = checkPooling(req.Pooling)
	}
	if err == nil && sreq.Texts == nil {
		err = badRequest("input", "expected a string or an array of strings")
	}
	s.answerEmbed(w, r, sreq, err, func(res service.EmbedResult) any {
		return ollamaEmbedResponse{Model: req.Model, Embeddings: vectors(res),
			TotalDuration: res.TotalDuration.Nanoseconds(), LoadDuration: res.LoadDuration.Nanoseconds(),
			PromptEvalCount: res.PromptTokens}
	})
}

func numCtx(o ollamaOptions) int {
	if o.NumCtx == nil {
		return 0
	}
	return *o.NumCtx
}

type ollamaEmbeddingsRequest struct {
	Model     string        `json:"model"`
	Prompt    string        `json:"prompt"`
	Options   ollamaOptions `json:"options"`
	KeepAlive keepAlive     `json:"keep_alive"`
}

// handleOllamaEmbeddings is the legacy /api/embeddings: one prompt, one
// "embedding", inputs past the context truncated.
func (s *Server) handleOllamaEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req ollamaEmbeddingsRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var err error
	if req.Prompt == "" {
		err = badRequest("prompt", "is missing or empty")
	}
	sreq := service.EmbedRequest{Model: req.Model, Texts: []string{req.Prompt}, Truncate: true,
		NumCtx: numCtx(req.Options), KeepAlive: req.KeepAlive.ptr()}
	s.answerEmbed(w, r, sreq, err, func(res service.EmbedResult) any {
		return map[string]any{"embedding": vectors(res)[0]}
	})
}

type openaiEmbedRequest struct {
	Model          string     `json:"model"`
	Input          embedInput `json:"input"`
	EncodingFormat string     `json:"encoding_format"`
	Dimensions     int        `json:"dimensions"`
	User           string     `json:"user"`
	// Extensions: OpenAI refuses inputs past the context; truncate cuts them.
	Truncate bool   `json:"truncate"`
	Pooling  string `json:"pooling"`
	NumCtx   int    `json:"num_ctx"`
}

type openaiEmbedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32s
}

// handleOpenAIEmbeddings is /v1/embeddings.
func (s *Server) handleOpenAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req openaiEmbedRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sreq := service.EmbedRequest{Model: req.Model, Truncate: req.Truncate, Dimensions: req.Dimensions,
		Pooling: req.Pooling, NumCtx: req.NumCtx}
	err := req.Input.request(&sreq, "input")
	if err == nil {
		err = checkPooling(req.Pooling)
	}
	if err == nil && req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		err = badRequest("encoding_format", "%q is not float or base64", req.EncodingFormat)
	}
	s.answerEmbed(w, r, sreq, err, func(res service.EmbedResult) any {
		data := make([]openaiEmbedding, len(res.Inputs))
		for i, v := range vectors(res) {
			data[i] = openaiEmbedding{Object: "embedding", Index: i, Embedding: v}
			if req.EncodingFormat == "base64" {
				data[i].Embedding = base64Floats(v)
			}
		}
		return map[string]any{
			"object": "list", "data": data, "model": req.Model,
			"usage": map[string]int{"prompt_tokens": res.PromptTokens, "total_tokens": res.PromptTokens},
		}
	})
}

// answerEmbed fails with bad when set, else runs req and answers with
// reply's body; the request is noted for the log.
func (s *Server) answerEmbed(w http.ResponseWriter, r *http.Request, req service.EmbedRequest, bad error, reply func(service.EmbedResult) any) {
	if bad != nil {
		s.fail(w, r, bad)
		return
	}
	rw := note(w)
	rw.model = req.Model
	res, err := s.runner.Embed(r.Context(), req)
	rw.promptTok = res.PromptTokens
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply(res))
}

// vectors is the one pooled vector of each input.
func vectors(res service.EmbedResult) [][]float32 {
	out := make([][]float32, len(res.Inputs))
	for i, in := range res.Inputs {
		out[i] = in.Vectors[0]
	}
	return out
}

// base64Floats is OpenAI's base64 encoding of a vector: its float32s in
// little-endian order.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}
