package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"inferenceruntime/inference"
	"inferenceruntime/inference/chattmpl"
)

// maxImageBytes bounds one encoded image; the pixel count is bounded again
// when it is decoded.
const maxImageBytes = 32 << 20

// decodeImage reads a base64 image (Ollama's "images" entries).
func decodeImage(field, s string) ([]byte, error) {
	if len(s) > maxImageBytes*4/3+4 {
		return nil, badRequest(field, "the image is larger than %d MiB", maxImageBytes>>20)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, badRequest(field, "the image is not valid base64: %v", err)
	}
	if len(data) == 0 {
		return nil, badRequest(field, "the image is empty")
	}
	return data, nil
}

// ollamaChatImages decodes the images of Ollama chat messages, in order,
// and puts a media marker for each in front of its message's content
// (msgs[i] is in[i]).
func ollamaChatImages(in []ollamaMessage, msgs []chattmpl.Message) ([][]byte, error) {
	var out [][]byte
	for i, m := range in {
		for j, s := range m.Images {
			data, err := decodeImage(fmt.Sprintf("messages[%d].images[%d]", i, j), s)
			if err != nil {
				return nil, err
			}
			out = append(out, data)
		}
		if len(m.Images) > 0 && i < len(msgs) {
			msgs[i].Content = strings.Repeat(inference.MediaMarker, len(m.Images)) + msgs[i].Content
		}
	}
	return out, nil
}

// dataURLImage reads an OpenAI image_url part: a data: URL with base64
// content. The server does not fetch from the network, so http(s) URLs are
// refused.
func dataURLImage(raw json.RawMessage) ([]byte, string) {
	var url string
	var obj struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(raw, &url); err != nil {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, "image_url must be an object with a url"
		}
		url = obj.URL
	}
	lower := strings.ToLower(url)
	switch {
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		return nil, "remote image URLs are not fetched (this server does not reach the network); send the image as a data: URL"
	case !strings.HasPrefix(lower, "data:"):
		return nil, "image_url must be a data: URL (data:image/png;base64,...)"
	}
	meta, payload, ok := strings.Cut(url[len("data:"):], ",")
	if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
		return nil, "the data: URL must be base64 (data:image/png;base64,...)"
	}
	if len(payload) > maxImageBytes*4/3+4 {
		return nil, fmt.Sprintf("the image is larger than %d MiB", maxImageBytes>>20)
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(data) == 0 {
		return nil, "the data: URL does not hold valid base64"
	}
	return data, ""
}
