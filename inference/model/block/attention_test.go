package block

import (
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/quant"
)

// TestRequireQKNormsLeavesPlacementErrors checks that a weight the device
// could not place is reported as such, not as missing q/k norms (the norms
// are nil after a placement failure too).
func TestRequireQKNormsLeavesPlacementErrors(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := model.NewPlacer(dev)
	// Five dimensions: more than a compute tensor has.
	p.Matrix(&model.Tensor{Name: "odd.weight", Type: quant.F32, Shape: []int{1, 1, 1, 1, 1}, Data: make([]byte, 4)})
	if p.Err() == nil {
		t.Fatal("the placer took a five-dimensional tensor")
	}
	b := model.NewBinder(&gguf.File{}, model.Config{})
	if err := RequireQKNorms(b, p, &Attention{}, 0); err != nil {
		t.Errorf("RequireQKNorms = %v, want the placement error left to Done", err)
	}
	if err := Done(b, p); err == nil || !strings.Contains(err.Error(), "odd.weight") {
		t.Errorf("Done = %v, want the placement error", err)
	}
}
