package library

import (
	"fmt"
	"slices"
	"strings"

	"inferenceruntime/inference/model"
)

// Support says whether this build can run a model, and if not, why, in
// words that name the architecture. A model can run when its
// general.architecture is registered with package model (the engine's
// families, registered by the binary's imports) and the file has weights.
type Support struct {
	Supported bool   `json:"supported"`
	Reason    string `json:"reason,omitempty"` // set when not supported
}

// SupportOf judges a model from its metadata; it reads no file.
func SupportOf(m Meta) Support {
	return ArchSupport(m.Architecture, m.ParamCount)
}

// ArchSupport judges a file of architecture arch holding params weights.
func ArchSupport(arch string, params int64) Support {
	archs := model.Architectures()
	supported := "none"
	if len(archs) > 0 {
		supported = strings.Join(archs, ", ")
	}
	switch {
	case arch == "":
		return Support{Reason: fmt.Sprintf("the file names no architecture (general.architecture); supported: %s", supported)}
	case !slices.Contains(archs, arch):
		return Support{Reason: fmt.Sprintf("architecture %q is not supported (supported: %s)", arch, supported)}
	case params == 0:
		return Support{Reason: "the file has no weights (a vocabulary only)"}
	}
	return Support{Supported: true}
}
