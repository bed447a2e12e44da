package llama_test

import (
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/modeltest"
)

// FuzzOpen mutates a valid synthetic model: whatever the reader and the
// model validation accept must run a forward step without crashing.
func FuzzOpen(f *testing.F) {
	for _, shape := range []string{"tiny", "tiny-qwen2"} {
		p := plan(f, shape)
		data, err := p.Bytes(1)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint32(0), byte(0))
		f.Add(data, uint32(200), byte(0xff)) // inside the metadata
	}
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, at uint32, b byte) {
		if len(data) > 0 {
			data = append([]byte(nil), data...)
			data[int(at)%len(data)] ^= b
		}
		file, err := gguf.Parse(data)
		if err != nil {
			return
		}
		m, err := model.Open(file, dev)
		if err != nil {
			return
		}
		defer m.Close()
		modeltest.Forward(t, m, []int32{1, 2, 3}, 3)
	})
}
