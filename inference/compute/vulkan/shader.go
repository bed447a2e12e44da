package vulkan

import "inferenceruntime/inference/compute/vulkan/shaders"

// shaderCode returns a module's SPIR-V, checked to be whole 32-bit words.
func shaderCode(name string) ([]byte, error) {
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	if len(code) == 0 || len(code)%4 != 0 || code[0] != 0x03 || code[3] != 0x07 {
		return nil, errBadSPIRV(name)
	}
	return code, nil
}

type errBadSPIRV string

func (e errBadSPIRV) Error() string {
	return "vulkan: shader " + string(e) + " is not SPIR-V: run make shaders"
}
