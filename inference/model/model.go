package model

// Model is a loaded architecture, ready to run.
type Model interface {
	// Config returns the validated hyper-parameters.
	Config() *Config
}
